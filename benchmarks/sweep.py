"""B. The validation sweep: `Sweep(config).run(Cursor.new(…), remaining_seconds=lambda: 900)` in a process of
its own, against moto's server and the simulator with 50 ms of injected LWA latency, at the default
settings (config.py: concurrency 8, 50 LWA requests/s).

- Today's sweep (a full run: every grant refreshed, no fleet budget, as before proofs existed) over 1,000
  and then 10,000 unchanged grants.
- The sweep riding on vend's refreshes, on the same 10,000 grants: 80 % refreshed within the last hour
  (their token items, as vend writes them, with mint times spread over that hour), 20 % last refreshed
  7 hours ago (outside the default 6-hour window); a scheduled run as deployed (fleet budget on), then an
  operator's run right after it.

Reported: wall time, AWS calls per grant by service and operation (counted at moto's server, reads and
writes apart), LWA calls per grant, and the sweep process's peak RSS. Grants are seeded as consents make
them (code → LWA exchange → grants.save), from a separate process with 8 threads.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import secs
from benchmarks.world import World, is_read

NAME = "sweep"
TITLE = "B. Validation sweep of 10,000 grants: today's, and riding on vend's refreshes"
LWA_LATENCY_MS = 50
AIM_RSS_MB = 256
SERVICE_NAMES = {"secretsmanager": "Secrets Manager", "dynamodb": "DynamoDB", "events": "EventBridge"}
VENDED_SHARE = 0.8  # of the grants, refreshed by vend within the last hour
IDLE_AGE_SECONDS = 7 * 3600  # when the others were last refreshed: outside the default 6-hour window
TODAY = {"SELLERTOKEN_LWA_RATE_PER_SECOND": "0"}  # today's sweep had no fleet budget


def run(*, quick: bool = False, sizes: tuple[int, ...] | None = None, unthrottled: bool = True) -> Section:
    sizes = sizes or ((100, 500) if quick else (1_000, 10_000))
    rows: list[Row] = []
    notes: list[str] = []
    results = {}
    with World() as world:
        have = 0
        for size in sizes:
            world.set_lwa_latency(0)
            started = time.monotonic()
            world.create_grants(size - have)
            seeded = time.monotonic() - started
            added = size - have
            notes.append(f"Seeding {added:,} grants (up to {size:,}) took {secs(seeded)} ({added / seeded:,.0f}/s).")
            have = size
            results[size] = _sweep(world, TODAY, "full")
            if unthrottled and size == sizes[0]:
                results["fast"] = _sweep(world, {**TODAY, "SELLERTOKEN_SWEEP_RATE_PER_SECOND": "1000"}, "full")
        vended = child.run_one(_prove_recent_refreshes, world.env, VENDED_SHARE, IDLE_AGE_SECONDS, timeout=1800)
        results["proven"] = _sweep(world, {}, "scheduled")
        results["again"] = _sweep(world, {}, "operator")
    for size in sizes:
        rows += _rows(size, results[size])
    small, large = sizes[0], sizes[-1]
    growth = results[large]["elapsed"] / results[small]["elapsed"]
    rows.append(
        Row(
            f"time at {large:,} ÷ time at {small:,} grants",
            f"{growth:.2f}x for {large / small:.0f}x the grants ({results[small]['elapsed'] / small * 1000:.1f} vs "
            f"{results[large]['elapsed'] / large * 1000:.1f} ms per grant)",
            f"≈ {large / small:.0f}x (linear)",
            growth <= large / small * 1.15,
        )
    )
    if "fast" in results:
        fast = results["fast"]
        rows.append(
            Row(
                f"the same {small:,} grants, rate limit lifted to 1,000/s (concurrency 8): what this machine allows",
                f"{secs(fast['elapsed'])} ({small / fast['elapsed']:.0f} grants/s), "
                f"peak RSS {fast['rss_peak_mb']:.0f} MB",
            )
        )
    rows += _proof_rows(large, vended, results[large], results["proven"], results["again"])
    notes += [
        f"LWA latency +{LWA_LATENCY_MS} ms during the sweeps; defaults otherwise (SELLERTOKEN_SWEEP_* unset): "
        "concurrency 8 and 50 LWA requests/s, so the sweep is paced by its rate limiter: "
        "10,000 grants take ≥ 200 s by design. Today's sweep runs as a full run without the fleet's LWA budget "
        "(`SELLERTOKEN_LWA_RATE_PER_SECOND=0`); the riding sweep as deployed, whose budget costs one UpdateItem "
        "per LWA call (shown in the per-operation counts).",
        f"Refreshes within the last hour: for {VENDED_SHARE:.0%} of the grants (random, seed 11) the token item "
        "a vend leaves after a refresh, written with the broker's own `SharedCache.put` (tokencache.py), minted "
        "at a uniformly random moment of the last hour; for the others the same item minted "
        f"{IDLE_AGE_SECONDS // 3600} h ago (an older refresh: the default window is one 6-hour period).",
        "Calls are counted as requests at moto's server: a call botocore retried after its 1 s read timeout (the "
        "server serializes DynamoDB and Secrets Manager and is loaded) counts twice, so a few more than one "
        "GetItem per grant or ListSecrets per page can show.",
        "Per grant, the sweep reads the secret (GetSecretValue) and, after the LWA refresh, writes the fresh "
        "access token to the shared cache (`Vendor.refresh_grant` → DynamoDB PutItem): that PutItem is the write "
        "in the per-grant count. Per page of 100 it lists (ListSecrets) and writes a progress record (PutItem); "
        "per run one EventBridge PutEvents and the final run records.",
        "Peak memory is VmHWM from /proc/self/status. `resource.getrusage(RUSAGE_SELF).ru_maxrss` reads higher "
        "in a spawned child: Linux keeps, across exec, the high-water mark of the memory the process had before "
        "it (the orchestrator's, which holds moto with every secret), so it is shown beside it but not judged.",
        "Time inside moto's ListSecrets is shown because moto scans and serializes every secret for each page "
        "(and looks secrets up by a linear scan), which real Secrets Manager does not: it grows with the number "
        "of grants here and is a floor of the test rig, not of the sweep.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _sweep(world: World, extra_env: dict[str, str], kind: str) -> dict:
    world.set_lwa_latency(LWA_LATENCY_MS)
    world.reset_aws_calls()
    before = world.lwa_refreshes()
    servers_cpu = _cpu_seconds()
    got = child.run_one(_run_sweep, {**world.env, **extra_env}, kind, timeout=1800)
    got["servers_cpu"] = _cpu_seconds() - servers_cpu  # moto and the simulator: this process's threads
    got["lwa"] = world.lwa_refreshes() - before
    got["aws"] = world.aws_calls()
    return got


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _calls(size: int, aws: Counter, refreshed: int) -> tuple[float, float, str]:
    """(reads per grant, writes per grant, the breakdown by service and operation)."""
    reads = sum(n for (s, op), n in aws.items() if s in ("secretsmanager", "dynamodb") and is_read(op))
    writes = sum(n for (s, op), n in aws.items() if not is_read(op))
    per_service = []
    for service, label in SERVICE_NAMES.items():
        ops = sorted((op, n) for (s, op), n in aws.items() if s == service)
        if not ops:
            continue
        r = sum(n for op, n in ops if is_read(op)) / size
        w = sum(n for op, n in ops if not is_read(op)) / size
        detail = ", ".join(f"{op} {n:,}" for op, n in ops)
        per_service.append(f"{label}: {r:.3f} reads + {w:.3f} writes per grant ({detail})")
    other = sorted((f"{s} {op} {n}") for (s, op), n in aws.items() if s not in SERVICE_NAMES)
    app_reads = aws.get(("secretsmanager", "GetSecretValue"), 0) - refreshed
    if app_reads > 0:
        other.append(f"of the GetSecretValue calls, {app_reads} beyond one per refreshed grant: the app credentials")
    return reads / size, writes / size, "; ".join(per_service + other)


def _rows(size: int, got: dict) -> list[Row]:
    checked = got["counts"].get("healthy", 0)
    aws: Counter = got["aws"]
    reads, writes, breakdown = _calls(size, aws, checked)
    return [
        Row(
            f"{size:,} grants: outcome, wall time",
            f"{got['outcome']}, {checked:,} healthy of {size:,}, {secs(got['elapsed'])} "
            f"({size / got['elapsed']:.1f} grants/s); of which {secs(got['list_seconds'])} inside {got['pages']} "
            f"ListSecrets calls",
            "completed, all healthy",
            got["outcome"] == "completed" and checked == size,
        ),
        Row(
            f"{size:,} grants: AWS calls per unchanged grant",
            f"{reads:.3f} reads, {writes:.3f} writes — {breakdown}",
            "1 read, 0 writes",
            round(reads, 2) <= 1.01 and writes == 0,
        ),
        Row(
            f"{size:,} grants: the sweep process's own CPU per grant (user + system, the run only)",
            f"{got['cpu'] / size * 1000:.1f} ms "
            f"(moto + simulator, in the parent: {got['servers_cpu'] / size * 1000:.1f} ms)",
        ),
        Row(
            f"{size:,} grants: LWA calls per grant",
            f"{got['lwa'] / size:.3f} ({got['lwa']:,})",
            "1",
            got["lwa"] == size,
        ),
        Row(
            f"{size:,} grants: peak RSS of the sweep process (VmHWM; see the note on ru_maxrss)",
            f"{got['rss_peak_mb']:.0f} MB (after imports, before the run: {got['rss_start_mb']:.0f} MB; "
            f"ru_maxrss {got['ru_maxrss_mb']:.0f} MB)",
            f"≤ {AIM_RSS_MB} MB",
            got["rss_peak_mb"] <= AIM_RSS_MB,
        ),
    ]


def _proof_rows(size: int, vended: int, today: dict, proven: dict, again: dict) -> list[Row]:
    rows = []
    for label, got in (("a scheduled sweep", proven), ("an operator's sweep right after it", again)):
        counts = got["counts"]
        refreshed = counts.get("healthy", 0) + counts.get("revoked", 0) + counts.get("failing", 0)
        reads, writes, breakdown = _calls(size, got["aws"], refreshed)
        what = f"{size:,} grants, {vended:,} refreshed by vend in the last hour, {label}"
        expected_lwa = size - vended if got is proven else 0
        rows += [
            Row(
                f"{what}: outcome, wall time (today's full sweep: {secs(today['elapsed'])})",
                f"{got['outcome']}, {counts.get('proven', 0):,} proven + {refreshed:,} refreshed of {size:,}, "
                f"{secs(got['elapsed'])} ({today['elapsed'] / got['elapsed']:.1f}x faster than today's)",
                "completed, every grant checked",
                got["outcome"] == "completed" and counts.get("proven", 0) + refreshed == size,
            ),
            Row(
                f"{what}: LWA calls per grant (today's: {today['lwa'] / size:.3f})",
                f"{got['lwa'] / size:.3f} ({got['lwa']:,})",
                f"{expected_lwa / size:.3f}: the grants without a recent refresh only",
                got["lwa"] == expected_lwa,
            ),
            Row(
                f"{what}: AWS calls per grant (today's: {_calls(size, today['aws'], size)[0]:.3f} reads, "
                f"{_calls(size, today['aws'], size)[1]:.3f} writes)",
                f"{reads:.3f} reads, {writes:.3f} writes — {breakdown}",
                "a proven grant: 1 read (GetItem), 0 writes",
                _one_read_per_grant(got["aws"], size) and _writes_only_for(got["aws"], refreshed, size),
            ),
            Row(
                f"{what}: the sweep process's own CPU per grant (today's: {today['cpu'] / size * 1000:.1f} ms)",
                f"{got['cpu'] / size * 1000:.2f} ms",
            ),
        ]
    return rows


def _one_read_per_grant(aws: Counter, size: int) -> bool:
    # One GetItem per grant (and the latest run's record); up to 1 % more are botocore's retries after a read
    # timeout on the loaded moto server, which the server counts twice.
    return size <= aws.get(("dynamodb", "GetItem"), 0) <= size * 1.01 + 1


def _writes_only_for(aws: Counter, refreshed: int, size: int) -> bool:
    """No write for a proven grant: the token puts are the refreshed grants', the rest the run's records."""
    pages = aws.get(("secretsmanager", "ListSecrets"), 0)
    return aws.get(("dynamodb", "PutItem"), 0) <= refreshed + pages + 2 and not any(
        n for (service, op), n in aws.items() if service == "secretsmanager" and not is_read(op)
    )


def _prove_recent_refreshes(share: float, idle_age: float) -> int:
    """Leave every grant's token item as a vend leaves it after a refresh: `share` of them minted within the
    last hour, the others `idle_age` seconds ago. Returns how many were refreshed within the hour."""
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from sellertoken import appcreds, aws, grants
    from sellertoken.config import get_config
    from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG, CachedToken, SharedCache, access_key

    config = get_config()
    client_id = appcreds.load(config.prefix).client_id
    cache = SharedCache(
        config.table_name, aws.client("dynamodb", SHARED_CACHE_BOTO_CONFIG), keep_seconds=config.sweep_proof_seconds
    )
    listed, token = [], None
    while True:
        page, token = grants.list_page(config.prefix, token)
        listed += page
        if not token:
            break
    chooser = random.Random(11)
    recent = set(chooser.sample(range(len(listed)), round(share * len(listed))))
    now = time.time()
    minted = [now - chooser.uniform(60, 3600) if i in recent else now - idle_age for i in range(len(listed))]

    def put(i: int) -> None:
        stored = CachedToken("Atza|" + secrets.token_urlsafe(300), minted[i] + 3600, minted[i])
        cache.put(access_key(client_id, listed[i].region, listed[i].selling_partner_id), stored)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, range(len(listed))))
    return len(recent)


def _run_sweep(kind: str) -> dict:
    import resource

    from sellertoken import aws
    from sellertoken.config import get_config
    from sellertoken.sweep import Cursor, Sweep

    config = get_config()
    listing = {"seconds": 0.0, "calls": 0}
    started: list[float] = []

    def before(**_) -> None:
        started.append(time.perf_counter())

    def after(**_) -> None:
        listing["seconds"] += time.perf_counter() - started.pop()
        listing["calls"] += 1

    sm = aws.client("secretsmanager")
    sm.meta.events.register("before-call.secrets-manager.ListSecrets", before)
    sm.meta.events.register("after-call.secrets-manager.ListSecrets", after)
    sweep = Sweep(config)
    start = resource.getrusage(resource.RUSAGE_SELF)
    rss_start = _high_water_kb()
    begun = time.monotonic()
    result = sweep.run(Cursor.new(kind=kind), remaining_seconds=lambda: 900)
    elapsed = time.monotonic() - begun
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu": usage.ru_utime + usage.ru_stime - start.ru_utime - start.ru_stime,
        "outcome": result.outcome,
        "counts": dict(result.cursor.counts),
        "elapsed": elapsed,
        "rss_start_mb": rss_start / 1024,
        "rss_peak_mb": _high_water_kb() / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "list_seconds": listing["seconds"],
        "pages": listing["calls"],
        "concurrency": config.sweep_concurrency,
        "rate": config.sweep_rate_per_second,
    }


def _high_water_kb() -> int:
    """This process's peak RSS (VmHWM). ru_maxrss is no good in a spawned child: Linux carries the high-water
    mark of the memory the process had before exec (the forking parent's) into ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
