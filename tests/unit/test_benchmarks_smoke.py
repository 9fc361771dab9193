"""The benchmarks (`make bench`) are not run by `make test`; this keeps them from rotting: every scenario
module imports, and the smallest scenario runs end to end with tiny sizes (loopback only, a few seconds)."""

from __future__ import annotations

import importlib

from benchmarks import lwa_budget, report, vend_memory


def test_every_scenario_module_imports():
    for name in report.ORDER:
        module = importlib.import_module(f"benchmarks.{name}")
        assert module.NAME == name and callable(module.run)


def test_the_in_memory_vend_benchmark_runs_and_renders_its_section():
    section = vend_memory.run(calls=200, warmup=20)

    assert section.rows and all(row.figure for row in section.rows)
    assert section.rows[-1].met is True  # no LWA call once the token is in memory
    rendered = report.render(section)
    assert rendered.startswith("<!-- bench:vend_memory -->") and "| What | Figure | Aim | Command |" in rendered


def test_the_cold_rush_benchmark_runs_small_and_the_budget_serves_every_caller_without_a_429():
    # 20 cold grants from 2 containers against an LWA limited to 10/s: the long benchmark's path, in seconds
    section = lwa_budget.run(grants=20, containers=2, limit=10, variants=("budget",))

    assert section.rows and all(row.figure for row in section.rows)
    assert [row.met for row in section.rows if row.met is not None] == [True, True, True]  # served, no 429, in time
