"""A6. The revocation bound: from `lifecycle.flag_revoked` (what the sweep, a vend or an operator calls) to
`GrantRevoked` in another container that holds the seller's token in memory, in real time with the real bound.

One process stands for the fleet: per trial a container (`Vendor`, its own memory) vends its seller every
50 ms, and a flagger flags that seller at a random moment within one bound of the container's first feed
read, so the flag lands anywhere in the container's read cycle. Trials run side by side, each on its own
grant. Half of them again with the container's feed read failing (DynamoDB unreadable for it): then only
tokens younger than the bound are served and the status read on the miss path must refuse in time.
"""

from __future__ import annotations

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import p50, secs
from benchmarks.world import World
from sellertoken import names

NAME = "revocation"
TITLE = "A6. Revocation bound: a flag in one container to GrantRevoked in another"
POLL_SECONDS = 0.05


def run(*, quick: bool = False, trials: int | None = None, bound: float | None = None) -> Section:
    trials = trials or (4 if quick else 8)
    bound = bound or (3.0 if quick else 60.0)
    with World() as world:
        sellers = [seller for seller, _ in world.create_grants(trials + trials // 2)]
        env = world.env | {names.ENV_REVOCATION_BOUND_SECONDS: f"{bound:g}"}
        got = child.run_one(_trials, env, sellers[:trials], sellers[trials:], timeout=4 * bound + 120)
    readable, unreadable = got["readable"], got["unreadable"]
    worst = max(readable + unreadable)
    intervals = got["read_intervals"]
    rows = [
        Row(
            f"flag → GrantRevoked, feed readable ({len(readable)} trials, bound {bound:g} s)",
            f"p50 {secs(p50(readable))}, max {secs(max(readable))}",
            f"max ≤ {bound:g} s",
            max(readable) <= bound,
        ),
        Row(
            f"flag → GrantRevoked, the container's feed read failing ({len(unreadable)} trials)",
            f"p50 {secs(p50(unreadable))}, max {secs(max(unreadable))}",
            f"max ≤ {bound:g} s",
            max(unreadable) <= bound,
        ),
        Row("worst of all trials", secs(worst), f"≤ {bound:g} s", worst <= bound),
        Row(
            "interval between one container's feed reads (one GetItem each), readable containers",
            f"p50 {secs(p50(intervals))}, min {secs(min(intervals))} (n={len(intervals)})" if intervals else "none",
        ),
        Row(
            "LWA refreshes during the trials, of which by containers with the feed unreadable",
            f"{got['lwa']} total: {got['lwa_unreadable']} from containers with the feed unreadable",
        ),
    ]
    notes = [
        f"Each trial: the container vends twice (LWA once, then a memory hit that reads the feed), then every "
        f"{POLL_SECONDS * 1000:.0f} ms; the flagger waits a uniformly random 0 to {bound:g} s and calls "
        "lifecycle.flag_revoked (operator); the figure is the time from that call to the container's first "
        f"GrantRevoked (resolution {POLL_SECONDS * 1000:.0f} ms).",
        "A copy of the feed vouches for cached tokens for the bound less a slack of min(5 s, bound/4) (kept for "
        "writing the flag and answering the caller) and is re-read min(1 s, bound/8) before that: at 60 s, a read "
        "every 54 s. Without a copy, only tokens minted less than bound - slack - 2 s ago are served "
        "(revocations.CLOCK_MARGIN_SECONDS); older ones go through the miss path, which reads the grant's status.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _trials(readable_sellers: list[str], unreadable_sellers: list[str]) -> dict:
    import random
    import threading
    import time

    from sellertoken import grants, lifecycle, revocations
    from sellertoken.config import get_config
    from sellertoken.errors import GrantRevoked
    from sellertoken.vending import Vendor, parse_request

    config = get_config()
    bound = config.revocation_bound_seconds
    rng = random.Random(20261202)
    read_times: dict[str, list[float]] = {}
    results: dict[str, list[float]] = {"readable": [], "unreadable": []}
    lwa = {"readable": 0, "unreadable": 0}
    lock = threading.Lock()

    def trial(seller: str, kind: str, delay: float) -> None:
        container = Vendor(config)
        read = container.revocations._read

        def counted() -> revocations.Feed:
            read_times.setdefault(seller, []).append(time.monotonic())
            if kind == "unreadable":
                raise revocations.FeedUnavailable("benchmark: this container cannot read the feed")
            return read()

        container.revocations._read = counted
        exchange = container._exchange

        def counted_exchange(*args, **kwargs):
            with lock:
                lwa[kind] += 1
            return exchange(*args, **kwargs)

        container._exchange = counted_exchange
        request = parse_request({"selling_partner_id": seller, "region": "na"})
        container.vend(request)
        container.vend(request)
        flagged = threading.Event()
        flagged_at: list[float] = []

        def flag() -> None:
            time.sleep(delay)
            flagged_at.append(time.monotonic())
            grant = grants.load(config.prefix, "na", seller)
            lifecycle.flag_revoked(config, grant, "benchmark", detected_by="operator")
            flagged.set()

        flagger = threading.Thread(target=flag)
        flagger.start()
        while True:
            try:
                container.vend(request)
            except GrantRevoked:
                refused_at = time.monotonic()
                break
            time.sleep(POLL_SECONDS)
        flagger.join()
        if not flagged.is_set() or refused_at < flagged_at[0]:
            raise AssertionError("GrantRevoked before the flag: the benchmark is measuring something else")
        with lock:
            results[kind].append(refused_at - flagged_at[0])

    failures: list[BaseException] = []

    def guarded(*args) -> None:
        try:
            trial(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the parent below
            failures.append(error)

    threads = [
        threading.Thread(target=guarded, args=(seller, kind, rng.uniform(0, bound)))
        for kind, sellers in (("readable", readable_sellers), ("unreadable", unreadable_sellers))
        for seller in sellers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return {
        **results,
        "read_intervals": [
            later - earlier
            for seller in readable_sellers
            for earlier, later in zip(read_times.get(seller, []), read_times.get(seller, [])[1:], strict=False)
        ],
        "lwa": lwa["readable"] + lwa["unreadable"],
        "lwa_unreadable": lwa["unreadable"],
    }
