"""S. Scale on paper: what checking 100,000 grants every sweep period takes and costs a month, from per-grant
costs measured here (a sweep of 2,000 grants, as section B does at 10,000) and AWS's published prices.

Measured: today's full sweep (every grant refreshed, no fleet budget) gives a refreshed grant's calls and
CPU; the riding sweep (80 % refreshed by vend within the hour) gives the budget's writes per LWA call; an
operator's sweep right after it (every grant proven) gives a proven grant's calls, CPU and wall time. The
token item's size, which DynamoDB bills by, is read from the table. Projected: those per-grant figures times
100,000 grants, 4 runs a day (the 6-hour default), 30 days.
"""

from __future__ import annotations

import math

from benchmarks import child, sweep
from benchmarks.report import Row, Section
from benchmarks.stats import secs
from benchmarks.world import World

NAME = "scale"
TITLE = "S. Scale on paper: 100,000 grants checked every 6 hours"
GRANTS = 100_000
PERIOD_HOURS = 6
RUNS_PER_MONTH = 24 // PERIOD_HOURS * 30
CONCURRENCY, RATE, MEMORY_GB = 8, 50.0, 1.0  # the sweep's defaults (config.py, infra/sweep.py: 1024 MB)
LAMBDA_SECONDS, MARGIN_SECONDS = 900, 60  # the sweep function's timeout and the time it keeps to continue
VCPU_AT_MEMORY = 1024 / 1769  # Lambda gives a full vCPU at 1,769 MB (docs: configuration-memory)
LISTSECRETS_SECONDS = 0.2  # per page of 100 on real Secrets Manager: assumed (moto's scan is no guide)
SHARES_VENDED = (0.8, 0.0)  # the measured case, and nobody vending (every grant needs the sweep's refresh)

# AWS's published prices, US East (N. Virginia), as looked up on 2026-12-02 (see the section's notes).
PRICE_LAMBDA_GB_SECOND = 0.0000133334  # arm64, first 6 billion GB-s a month
PRICE_LAMBDA_REQUEST = 0.20 / 1e6
PRICE_DDB_WRITE_UNIT = 0.625 / 1e6  # on-demand, Standard table class (since 2024-11-01)
PRICE_DDB_READ_UNIT = 0.125 / 1e6
PRICE_SM_CALL = 0.05 / 10_000
PRICE_SM_SECRET_MONTH = 0.40


def run(*, quick: bool = False, measured_grants: int | None = None) -> Section:
    size = measured_grants or (200 if quick else 2_000)
    with World() as world:
        world.create_grants(size)
        today = sweep._sweep(world, sweep.TODAY, "full")
        vended = child.run_one(
            sweep._prove_recent_refreshes, world.env, sweep.VENDED_SHARE, sweep.IDLE_AGE_SECONDS, timeout=1800
        )
        riding = sweep._sweep(world, {}, "scheduled")
        proven = sweep._sweep(world, {}, "operator")
        item_bytes = world.token_item_bytes()
    unit = _unit_costs(size, today, riding, proven, item_bytes)
    rows = _setting_rows(unit)
    plans = {"today": _plan(unit, refreshed=GRANTS, today=True)}
    for share in SHARES_VENDED:
        # With the window at one period, an idle grant a run refreshes is proven for the next: every other run.
        plans[share] = _plan(unit, refreshed=round(GRANTS * (1 - share) / 2), today=False)
    rows += _cost_rows(plans)
    notes = [
        f"Measured on {size:,} grants ({vended:,} refreshed by vend within the hour, the rest 7 h ago), on moto "
        "and the simulator with LWA +50 ms (section B's setup): per refreshed grant "
        f"{unit['cpu_refreshed'] * 1000:.1f} ms of CPU and {_per(unit['refreshed'])}; per proven grant "
        f"{unit['cpu_proven'] * 1000:.2f} ms of CPU, {unit['wall_proven'] * 1000:.2f} ms of wall time at "
        f"concurrency {CONCURRENCY} and {_per(unit['proven'])}; the fleet budget adds "
        f"{unit['budget_writes']:.2f} UpdateItem per LWA call; a token item is {item_bytes} bytes "
        f"({_wru(item_bytes)} write unit, {_rru(item_bytes):g} read unit eventually consistent; a real LWA token "
        "of up to 2,048 bytes makes it 3 write units).",
        "Projection: a run's time = its refreshes at the sweep's rate plus its proven grants at the measured wall "
        "time per grant (an upper bound: in a run they overlap), listing at "
        f"{LISTSECRETS_SECONDS:g} s per page of 100 (assumed; overlapped with the checks by the lister thread); "
        f"a Lambda invocation works {LAMBDA_SECONDS - MARGIN_SECONDS} s before it continues itself. "
        "A run riding on vend refreshes half of the grants nobody vends: with the window at one period, a grant a "
        "scheduled run refreshed is proven for the next one (its refresh started after that run's threshold), "
        "so each idle grant is refreshed every other run; vended grants never. The worst run (every grant "
        "refreshed: the first, or one after the proofs were lost) is the row above.",
        "Prices, US East (N. Virginia), looked up 2026-12-02: Lambda arm64 $0.0000133334 per GB-second and $0.20 "
        "per million requests (https://aws.amazon.com/lambda/pricing/); DynamoDB on-demand, Standard table "
        "class, $0.625 per million write request units and $0.125 per million read request units, effective "
        "2024-11-01 (https://aws.amazon.com/dynamodb/pricing/on-demand/); Secrets Manager $0.40 per secret per "
        "month and $0.05 per 10,000 API calls (https://aws.amazon.com/secrets-manager/pricing/). The pages "
        "render their rate tables client-side: the Lambda rate as in AWS's price list (also in artillery's "
        "lambda prices.js), DynamoDB's as quoted after the November 2024 reduction (airbyte.com, 2025-07-21), "
        "Secrets Manager's from the page's own examples (api-evangelist transcription of 2026-09-20). LWA calls "
        "cost nothing; Amazon publishes no limit for them (reference §2).",
        f"Storing 100,000 grants as one secret each costs ${GRANTS * PRICE_SM_SECRET_MONTH:,.0f} a month whatever "
        "the sweep does: at this scale it is the broker's largest cost by far (DESIGN.md's one secret per grant).",
    ]
    return Section(NAME, TITLE, rows, notes)


def _unit_costs(size: int, today: dict, riding: dict, proven: dict, item_bytes: int) -> dict:
    pages = max(1, today["aws"].get(("secretsmanager", "ListSecrets"), 1))
    refreshed = {op: n / size for (_, op), n in today["aws"].items() if op not in ("ListSecrets",)}
    refreshed["PutItem"] = (today["aws"].get(("dynamodb", "PutItem"), 0) - pages - 2) / size  # less run records
    refreshed.pop("PutEvents", None)
    checked = {op: n / size for (_, op), n in proven["aws"].items() if op in ("GetItem",)}
    lwa = max(1, riding["lwa"])
    return {
        "cpu_refreshed": today["cpu"] / size,
        "cpu_proven": proven["cpu"] / size,
        "wall_proven": proven["elapsed"] / size,
        "refreshed": refreshed,
        "proven": checked,
        "budget_writes": riding["aws"].get(("dynamodb", "UpdateItem"), 0) / lwa,
        "budget_reads": max(0, riding["aws"].get(("dynamodb", "GetItem"), 0) - size) / lwa,  # beyond the proofs
        "item_bytes": item_bytes,
        "grants_per_page": size / pages,
    }


def _plan(unit: dict, *, refreshed: int, today: bool) -> dict:
    proven = 0 if today else GRANTS - refreshed
    pages = math.ceil(GRANTS / unit["grants_per_page"])
    seconds = max(refreshed / RATE + proven * unit["wall_proven"], pages * LISTSECRETS_SECONDS)
    cpu = refreshed * unit["cpu_refreshed"] + proven * unit["cpu_proven"]
    invocations = max(1, math.ceil(seconds / (LAMBDA_SECONDS - MARGIN_SECONDS)))
    wru = refreshed * _wru(unit["item_bytes"]) + pages + 2  # tokens, progress records, run records
    rru = 0.0
    if not today:
        wru += refreshed * unit["budget_writes"]  # the fleet budget's slots (small items: 1 unit each)
        rru = GRANTS * _rru(unit["item_bytes"]) + refreshed * unit["budget_reads"]  # proofs; pauses looked for
    sm_calls = refreshed + pages  # GetSecretValue per refresh, ListSecrets per page
    return {
        "refreshed": refreshed,
        "seconds": seconds,
        "cpu": cpu,
        "invocations": invocations,
        "lwa_month": refreshed * RUNS_PER_MONTH,
        "gb_seconds_month": seconds * MEMORY_GB * RUNS_PER_MONTH,
        "requests_month": invocations * RUNS_PER_MONTH,
        "wru_month": wru * RUNS_PER_MONTH,
        "rru_month": rru * RUNS_PER_MONTH,
        "sm_calls_month": sm_calls * RUNS_PER_MONTH,
    }


def _setting_rows(unit: dict) -> list[Row]:
    worst = max(GRANTS / RATE, math.ceil(GRANTS / unit["grants_per_page"]) * LISTSECRETS_SECONDS)
    return [
        Row(
            "settings that check 100,000 grants within one period",
            f"period 6 h (sweepRateHours 6), proof window 6 h (sweepProofHours, default), concurrency {CONCURRENCY}, "
            f"sweep rate {RATE:g} LWA calls/s within a fleet budget of {RATE:g}/s (lwaRatePerSecond), "
            f"memory {int(MEMORY_GB * 1024)} MB",
            "every grant checked within 6 h",
            worst < PERIOD_HOURS * 3600,
        ),
        Row(
            "worst run: nobody vends, every grant refreshed (first run, or after a full one)",
            f"{secs(worst)} of refreshes at {RATE:g}/s = {worst / 60:.0f} min, "
            f"{math.ceil(worst / (LAMBDA_SECONDS - MARGIN_SECONDS))} invocations "
            f"({LAMBDA_SECONDS - MARGIN_SECONDS} s each before it continues); "
            f"the slowest rate that still fits one period: {GRANTS / (PERIOD_HOURS * 3600):.1f}/s",
            "< 6 h",
            worst < PERIOD_HOURS * 3600,
        ),
        Row(
            "CPU a refreshed / a proven grant costs the sweep (measured), and the worst run's CPU at 1,024 MB",
            f"{unit['cpu_refreshed'] * 1000:.1f} ms / {unit['cpu_proven'] * 1000:.2f} ms; "
            f"{GRANTS * unit['cpu_refreshed'] / VCPU_AT_MEMORY:,.0f} s of the run's "
            f"{worst:,.0f} s at {VCPU_AT_MEMORY:.2f} vCPU",
            "CPU below the run's time",
            GRANTS * unit["cpu_refreshed"] / VCPU_AT_MEMORY < worst,
        ),
    ]


def _cost_rows(plans: dict) -> list[Row]:
    labels = {
        "today": "today's sweep (every grant refreshed every run)",
        0.8: "riding on vend, 80 % vended within the hour (steady state)",
        0.0: "riding on vend, nobody vends (steady state)",
    }
    rows = []
    for key, plan in plans.items():
        label = labels[key]
        lambda_cost = plan["gb_seconds_month"] * PRICE_LAMBDA_GB_SECOND + plan["requests_month"] * PRICE_LAMBDA_REQUEST
        ddb_cost = plan["wru_month"] * PRICE_DDB_WRITE_UNIT + plan["rru_month"] * PRICE_DDB_READ_UNIT
        sm_cost = plan["sm_calls_month"] * PRICE_SM_CALL
        rows += [
            Row(
                f"{label}: one run",
                f"{plan['refreshed']:,} refreshed, {secs(plan['seconds'])}, {plan['invocations']} invocation(s)",
            ),
            Row(
                f"{label}: a month ({RUNS_PER_MONTH} runs)",
                f"LWA {plan['lwa_month'] / 1e6:,.2f} M calls; Lambda {plan['gb_seconds_month']:,.0f} GB-s + "
                f"{plan['requests_month']} requests = ${lambda_cost:,.2f}; DynamoDB "
                f"{plan['wru_month'] / 1e6:,.2f} M write units + {plan['rru_month'] / 1e6:,.2f} M read units = "
                f"${ddb_cost:,.2f}; Secrets Manager {plan['sm_calls_month'] / 1e6:,.2f} M calls = ${sm_cost:,.2f}; "
                f"total ${lambda_cost + ddb_cost + sm_cost:,.2f} (+ ${GRANTS * PRICE_SM_SECRET_MONTH:,.0f} of "
                "secrets stored)",
            ),
        ]
    return rows


def _per(calls: dict) -> str:
    return ", ".join(f"{n:.2f} {op}" for op, n in sorted(calls.items()) if n >= 0.005)


def _wru(item_bytes: int) -> int:
    return max(1, math.ceil(item_bytes / 1024))


def _rru(item_bytes: int) -> float:
    return 0.5 * max(1, math.ceil(item_bytes / 4096))
