"""A1. Vend served from memory, in-process: the vend handler (Powertools' log_metrics decorator included)
against a warm container whose memory cache holds the token, and the bare Vendor.vend beside it. Every hit
includes the revocation check (a clock read and a look-up in the container's copy of the revocation feed;
the feed itself is read at most once per bound, 60 s, so not within these calls).

Two configurations of the handler: metrics disabled (`POWERTOOLS_METRICS_DISABLED=true`, as devstack and
the tests run it) and metrics enabled as deployed (one EMF line printed per invocation; stdout goes to
/dev/null here, to Lambda's log pipe in AWS). A cProfile of the deployed configuration says where the time goes.
"""

from __future__ import annotations

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import p50, p99, spread, us
from benchmarks.world import World
from sellertoken import names

NAME = "vend_memory"
TITLE = "A1. Vend served from memory, in-process"
AIM_P50, AIM_P99 = 0.1e-3, 1e-3


def run(*, quick: bool = False, calls: int | None = None, warmup: int | None = None) -> Section:
    calls = calls or (2_000 if quick else 20_000)
    warmup = warmup or (200 if quick else 2_000)
    with World() as world:
        [(seller, _)] = world.create_grants(1)
        world.amazon.reset_calls()
        got = child.run_one(_measure, world.env, seller, calls, warmup, timeout=600)
        lwa = world.lwa_refreshes()
    deployed, dev, bare = got["handler_metrics_on"], got["handler_metrics_off"], got["vendor_vend"]
    met = p50(deployed) <= AIM_P50 and p99(deployed) <= AIM_P99
    rows = [
        Row(
            "vend handler from memory, metrics on as deployed (EMF line per call)",
            spread(deployed, us),
            "p50 ≤ 0.1 ms, p99 ≤ 1 ms",
            met,
        ),
        Row(
            "vend handler from memory, metrics disabled (devstack/tests)",
            spread(dev, us),
            "p50 ≤ 0.1 ms, p99 ≤ 1 ms",
            p50(dev) <= AIM_P50 and p99(dev) <= AIM_P99,
        ),
        Row("bare `Vendor.vend` from memory (no decorator, no parsing)", spread(bare, us)),
        Row(
            "… of which: `parse_request` / `appcreds.load` (Powertools parameters cache) / `MemoryCache.get` / "
            "the revocation check (`Vendor._admits`: feed copy current, no I/O)",
            " / ".join(us(p50(got[k])) for k in ("parse_request", "appcreds_load", "memory_get", "revocation_check"))
            + " (p50)",
        ),
        Row(
            "decorator + parsing cost = handler p50 - bare vend p50",
            f"{us(p50(deployed) - p50(bare))} metrics on, {us(p50(dev) - p50(bare))} metrics off",
        ),
        Row("LWA refresh calls during the timed calls (after the one cold vend)", f"{lwa - 1}", "0", lwa - 1 == 0),
    ]
    notes = [
        f"{len(deployed):,} timed calls per row after {warmup:,} warm-up calls; one grant, the token in the "
        "container's memory; perf_counter_ns around each call, garbage collector on.",
        "Where the time goes (cProfile of the deployed handler, top functions by own time, µs per call): "
        + "; ".join(got["profile"]),
        "Metrics disabled is not free: Powertools' flush_metrics keeps the metric set when disabled and "
        "add_metric prints the accumulated EMF blob every 100th value, so 1 call in 100 pays for a print.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _measure(seller: str, calls: int, warmup: int) -> dict:
    import cProfile
    import os
    import pstats

    import handlers.vend as vend_module  # after the environment is set: get_config() runs at import
    from benchmarks.stats import timed
    from devstack.lambda_context import LocalLambdaContext
    from sellertoken import appcreds
    from sellertoken.config import get_config
    from sellertoken.observability import metrics
    from sellertoken.vending import parse_request

    context = LocalLambdaContext(names.function_name("vend"))
    event = {"selling_partner_id": seller, "region": "na"}
    handler = vend_module.handler
    handler(event, context)  # the one cold vend: memory ← shared cache ← LWA
    out: dict = {}

    def handler_loop(key: str) -> None:
        for _ in range(warmup):
            handler(event, context)
        out[key] = timed(lambda: handler(event, context), calls)

    handler_loop("handler_metrics_off")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # read on every flush
    metrics.clear_metrics()
    handler_loop("handler_metrics_on")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        handler(event, context)
    profiler.disable()
    out["profile"] = _top(pstats.Stats(profiler), calls)

    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    vendor = vend_module.vendor()
    request = parse_request(event)
    prefix = get_config().prefix
    key = next(iter(vendor.memory._tokens))
    forget = metrics.metric_set.clear  # the decorator flushes these; a bare loop must not print every 100th
    out["vendor_vend"] = timed(lambda: vendor.vend(request), calls, after=forget)
    out["parse_request"] = timed(lambda: parse_request(event), calls)
    out["appcreds_load"] = timed(lambda: appcreds.load(prefix), calls)
    out["memory_get"] = timed(lambda: vendor.memory.get(key, 0), calls)
    token = vendor.memory.get(key, 0)
    out["revocation_check"] = timed(lambda: vendor._admits(key, token), calls)
    return out


def _top(stats, calls: int, count: int = 10) -> list[str]:
    rows = []
    for (filename, line, function), (_, _, tottime, _, _) in stats.stats.items():
        where = filename.rsplit("site-packages/", 1)[-1].rsplit("/lambdas/", 1)[-1]
        rows.append((tottime, f"{where}:{line}({function})"))
    rows.sort(reverse=True)
    total = sum(t for t, _ in rows)
    top = [f"{name} {t / calls * 1e6:.1f}" for t, name in rows[:count]]
    return [*top, f"total {total / calls * 1e6:.1f} (profiled)"]
