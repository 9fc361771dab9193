"""The benchmarks (`make bench`) are not run by `make test`; this keeps them from rotting: every scenario
module imports, and the smallest scenario runs end to end with tiny sizes (loopback only, a few seconds)."""

from __future__ import annotations

import importlib

from benchmarks import report, vend_memory


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
