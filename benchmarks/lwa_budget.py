"""A8. A cold rush: 2,000 grants no cache holds, vended at once from 8 containers against an LWA that
answers 429 above 20 requests per second, with the fleet's LWA budget at 20/s and without it (today's
broker: urllib3 retries each 429 three times, 0.2-0.8 s apart).

Each container is a process with one `Vendor` (its own memory, the shared DynamoDB cache on moto) serving
its 250 callers at once, one thread each; every invocation runs under the vend function's 30 s deadline
(`deadline.within`, as `deadline.bounded` does). A caller that gets UpstreamUnavailable does what the README
tells it (exponential backoff with jitter, from 2 s, doubling, at most 32 s) until it has its token; the
invocations that answered UpstreamUnavailable are the failed vends. The simulator's rate limit is a token
bucket of 20/s with a burst of 20 and no Retry-After (devstack/amazon/lwa.py: inferred). The ideal is every
grant refreshed at exactly the limit: 2,000 / 20 = 100 s.

Long (two rushes of about two minutes each, plus seeding): not in the default `make bench`; run it with
`.venv/bin/python -m benchmarks lwa_budget`.
"""

from __future__ import annotations

from collections import Counter

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import p50, p99, secs
from benchmarks.world import World

NAME = "lwa_budget"
TITLE = "A8. A cold rush: 2,000 grants vended at once from 8 containers, LWA limited to 20 per second"
GRANTS, CONTAINERS, LIMIT = 2_000, 8, 20.0
TIMEOUT_SECONDS = 30.0  # the vend function's (infra/vending.py)
LWA_LATENCY_MS = 100  # an LWA answer over the internet, roughly
BACKOFF_FIRST, BACKOFF_MAX = 2.0, 32.0  # the README's retry advice for UpstreamUnavailable
GIVE_UP_SECONDS = 900.0  # a caller stops here (none should)
STEP_FUNCTIONS_ATTEMPTS = 6  # Retry MaxAttempts 5: the call and five retries
VARIANTS = {"budget": "with the fleet's budget at the limit", "none": "without a budget (today)"}


def run(
    *,
    quick: bool = False,
    grants: int | None = None,
    containers: int | None = None,
    limit: float | None = None,
    variants: tuple[str, ...] = tuple(VARIANTS),
) -> Section:
    grants = grants or (60 if quick else GRANTS)
    containers = containers or (2 if quick else CONTAINERS)
    limit = limit or LIMIT
    rows: list[Row] = []
    with World() as world:
        sellers = [seller for seller, _ in world.create_grants(grants)]
        world.set_lwa_latency(LWA_LATENCY_MS)
        for variant in variants:
            world.forget_cached_tokens()  # every grant cold, the budget fresh
            world.amazon.set_lwa_rate_limit(limit)
            try:
                got = _rush(world, sellers, containers, limit, variant)
            finally:
                world.amazon.set_lwa_rate_limit(None)
            rows += _rows(variant, grants, limit, got)
    notes = [
        f"{grants:,} grants seeded as consents make them, none in any cache; {containers} container processes "
        f"(spawn) x {grants // containers} callers each, released together; LWA +{LWA_LATENCY_MS} ms; the "
        f"simulator answers 429 above {limit:g} token requests per second (token bucket, burst {limit:g}).",
        "A caller retries UpstreamUnavailable after a wait drawn between half and all of 2 s, 4 s, 8 s … (at most "
        "32 s), until it has its token; 'would have given up' counts the callers that needed more than 6 "
        "attempts, the most Step Functions' Retry with MaxAttempts 5 makes.",
        "Failed vends = invocations that answered UpstreamUnavailable; each answered before the 30 s deadline "
        "or the row says so. With the budget a vend that finds no slot before its deadline answers at once "
        "(budget.py), so its caller's backoff starts at once instead of after a wasted wait.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _rush(world: World, sellers: list[str], containers: int, limit: float, variant: str) -> dict:
    env = world.env | {"SELLERTOKEN_LWA_RATE_PER_SECOND": f"{limit:g}" if variant == "budget" else "0"}
    shares = [sellers[i::containers] for i in range(containers)]
    lineup = child.Lineup(containers)
    group = child.Group(_container, env, [(share, lineup) for share in shares]).start()
    baseline: dict = {}

    def reset() -> None:
        world.reset_aws_calls()
        baseline.update(world.amazon.calls())

    try:
        lineup.release(reset)
    except BaseException:
        group.stop()
        raise
    callers = [caller for container in group.collect(timeout=GIVE_UP_SECONDS + 300) for caller in container]
    calls = world.amazon.calls()
    return {
        "callers": callers,
        "lwa": {k: calls[k] - baseline.get(k, 0) for k in calls},
        "aws": world.aws_calls(),
    }


def _rows(variant: str, grants: int, limit: float, got: dict) -> list[Row]:
    label = f"{VARIANTS[variant]}"
    callers = got["callers"]
    attempts = [a for caller in callers for a in caller["attempts"]]
    outcomes = Counter(a[2] for a in attempts)
    served = [c["served_at"] for c in callers if c["served_at"] is not None]
    failed = sum(n for outcome, n in outcomes.items() if outcome != "token")
    durations = [a[1] for a in attempts]
    late = sum(1 for d in durations if d >= TIMEOUT_SECONDS)
    ideal = grants / limit
    wall = max(served) if served else float("nan")
    gave_up = sum(1 for c in callers if len(c["attempts"]) > STEP_FUNCTIONS_ATTEMPTS)
    lwa, aws = got["lwa"], got["aws"]
    rows = [
        Row(
            f"{label}: callers served, and when the last one was",
            f"{len(served):,} of {grants:,}; last at {secs(wall)} (ideal {secs(ideal)}: {wall / ideal:.2f}x)",
            "all served" if variant == "budget" else "—",
            len(served) == grants if variant == "budget" else None,
        ),
        Row(
            f"{label}: failed vends (invocations answering an error) of all invocations",
            f"{failed:,} of {len(attempts):,}"
            + (f" ({', '.join(f'{n:,} {o}' for o, n in outcomes.most_common() if o != 'token')})" if failed else ""),
        ),
        Row(
            f"{label}: 429s LWA answered, of its token requests",
            f"{lwa.get('token.throttled', 0):,} of {lwa.get('token.refresh_token', 0):,} refresh requests",
            "0" if variant == "budget" else "—",
            lwa.get("token.throttled", 0) == 0 if variant == "budget" else None,
        ),
        Row(
            f"{label}: one invocation's time",
            f"p50 {secs(p50(durations))}, p99 {secs(p99(durations))}, max {secs(max(durations))}; "
            f"{late} at or past the {TIMEOUT_SECONDS:g} s timeout",
            f"every one < {TIMEOUT_SECONDS:g} s",
            late == 0,
        ),
        Row(
            f"{label}: callers that would have given up under Step Functions' MaxAttempts 5",
            f"{gave_up:,} of {grants:,} (attempts per caller: p50 "
            f"{p50([len(c['attempts']) for c in callers]):g}, max {max(len(c['attempts']) for c in callers)})",
        ),
    ]
    if variant == "budget":
        writes = aws.get(("dynamodb", "UpdateItem"), 0)
        refreshes = max(1, lwa.get("token.refresh_token", 0))
        rows.append(
            Row(
                f"{label}: what the budget cost in DynamoDB",
                f"{writes:,} UpdateItem ({writes / refreshes:.2f} per LWA request; the items' writes, refusals "
                "included), GetItem after a wait counted with the cache's reads",
            )
        )
    return rows


def _container(sellers: list[str], lineup: child.Lineup) -> list[dict]:
    import logging
    import random
    import threading
    import time

    from handlers import vend
    from sellertoken import appcreds, deadline
    from sellertoken.config import get_config
    from sellertoken.errors import ContractError
    from sellertoken.vending import Vendor

    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # 250 threads share pools of 50
    config = get_config()
    vendor = Vendor(config)
    appcreds.load(config.prefix)  # only the grants are cold
    results: list[dict] = [{} for _ in sellers]
    go = threading.Event()
    released: list[float] = []

    def caller(i: int) -> None:
        event = {"selling_partner_id": sellers[i], "region": "na"}
        go.wait()
        start = released[0]
        attempts: list[tuple[float, float, str]] = []
        served_at = None
        while True:
            began = time.monotonic()
            try:
                with deadline.within(TIMEOUT_SECONDS):
                    vend.answer(event, lambda: vendor)
                outcome = "token"
            except ContractError as error:
                outcome = error.error_type
            ended = time.monotonic()
            attempts.append((began - start, ended - began, outcome))
            if outcome == "token":
                served_at = ended - start
                break
            if outcome != "UpstreamUnavailable" or ended - start > GIVE_UP_SECONDS:
                break
            ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (len(attempts) - 1))
            time.sleep(random.uniform(ceiling / 2, ceiling))
        results[i] = {"attempts": attempts, "served_at": served_at}

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(len(sellers))]
    for thread in threads:
        thread.start()
    lineup.wait(timeout=300)
    released.append(time.monotonic())
    go.set()
    for thread in threads:
        thread.join(GIVE_UP_SECONDS + 120)
    return results
