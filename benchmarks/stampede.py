"""A3. The stampede: 100 concurrent vends of one cold grant from 4 containers (processes, spawn), each with
its own memory cache and 25 threads, against moto's server and the simulator with 100 ms of LWA latency.

All 100 threads are lined up (a barrier across processes) and released at once. The aim is one LWA
refresh per round: single flight inside a container (memory lock), then the fleet-wide DynamoDB lease.
"""

from __future__ import annotations

from collections import Counter

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import ms, p50
from benchmarks.world import World

NAME = "stampede"
TITLE = "A3. Stampede: 100 concurrent vends of one cold grant from 4 containers"
PROCESSES, THREADS, LWA_LATENCY_MS = 4, 25, 100


def run(*, quick: bool = False, rounds: int | None = None) -> Section:
    rounds = rounds or (1 if quick else 5)
    per_round = []
    with World() as world:
        world.set_lwa_latency(LWA_LATENCY_MS)
        for seller, _ in world.create_grants(rounds):
            lineup = child.Lineup(PROCESSES * THREADS)
            group = child.Group(_container, world.env, [(seller, THREADS, lineup)] * PROCESSES).start()
            baseline = world.release(group, lineup)
            answers = [a for container in group.collect(timeout=300) for a in container]
            per_round.append((world.lwa_refreshes() - baseline, answers, world.aws_calls()))
    lwa = [r[0] for r in per_round]
    tokens = [len({a[2] for a in answers if a[2]}) for _, answers, _ in per_round]
    errors = Counter(a[3] for _, answers, _ in per_round for a in answers if a[3])
    walls = [max(a[1] for a in answers) - min(a[0] for a in answers) for _, answers, _ in per_round]
    latencies = [a[1] - a[0] for _, answers, _ in per_round for a in answers]
    aws = sum((r[2] for r in per_round), Counter())
    calls = ", ".join(f"{service} {op} {n / rounds:g}" for (service, op), n in sorted(aws.items()))
    rows = [
        Row(
            f"LWA refresh calls per round ({rounds} rounds, one fresh grant each)",
            ", ".join(map(str, lwa)),
            "1",
            all(n == 1 for n in lwa),
        ),
        Row(
            "distinct access tokens handed out per round (of 100 vends)",
            ", ".join(map(str, tokens)),
            "1",
            tokens == [1] * rounds,
        ),
        Row("failed vends", str(sum(errors.values())) + (f" ({dict(errors)})" if errors else ""), "0", not errors),
        Row(
            "one vend's time (release → answer), all rounds",
            f"min {ms(min(latencies))}, p50 {ms(p50(latencies))}, max {ms(max(latencies))} (n={len(latencies)})",
        ),
        Row("round's wall time, first release → last answer", ", ".join(ms(w) for w in walls)),
        Row("AWS calls per round, all 4 containers (moto, by operation)", calls),
    ]
    notes = [
        f"{PROCESSES} processes x {THREADS} threads, one Vendor per process (a container), "
        f"LWA latency +{LWA_LATENCY_MS} ms; the app credentials are loaded before the release so that only "
        "the grant is cold. Losers of the lease poll the shared cache after 20, 50, 100, 200 ms … "
        "(vending.py `_POLL_SECONDS`), so a waiting container answers up to one poll interval after the holder.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _container(seller: str, threads: int, lineup: child.Lineup) -> list[tuple[float, float, str | None, str | None]]:
    import threading
    import time

    from sellertoken import appcreds
    from sellertoken.config import get_config
    from sellertoken.vending import Vendor, parse_request

    config = get_config()
    vendor = Vendor(config)
    appcreds.load(config.prefix)
    request = parse_request({"selling_partner_id": seller, "region": "na"})
    answers: list = [None] * threads

    def one(i: int) -> None:
        lineup.wait()
        started = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
        try:
            token, error = vendor.vend(request)["access_token"], None
        except Exception as exc:  # noqa: BLE001 - counted and reported
            token, error = None, type(exc).__name__
        answers[i] = (started, time.monotonic(), token, error)

    workers = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    if any(a is None for a in answers):
        raise TimeoutError("a vend never answered")
    return answers
