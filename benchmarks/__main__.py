"""`python -m benchmarks [vend | sweep | rotation | SCENARIO ...] [--quick] [--no-write]` (no argument: every
group but `long`, whose scenarios take minutes each: run them by name, e.g. `python -m benchmarks lwa_budget`)."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmarks import report

GROUPS = {
    "consent": ("consent",),
    "vend": ("vend_memory", "vend_remote", "stampede", "fleet", "cold_start", "revocation", "lwa_hang"),
    "sweep": ("sweep", "scale"),
    "rotation": ("rotation",),
    "long": ("lwa_budget",),  # not in the default run: two cold rushes of about two minutes each
}
DEFAULT_GROUPS = ("consent", "vend", "sweep", "rotation")
SCENARIOS = report.ORDER


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("what", nargs="*", help=f"groups ({', '.join(GROUPS)}) or scenarios ({', '.join(SCENARIOS)})")
    parser.add_argument("--quick", action="store_true", help="small sizes; BENCHMARKS.md is not written")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    chosen: list[str] = []
    for word in args.what or DEFAULT_GROUPS:
        names = GROUPS.get(word, (word,) if word in SCENARIOS else None)
        if names is None:
            parser.error(f"unknown group or scenario: {word}")
        chosen += [n for n in names if n not in chosen]
    sections = []
    for name in chosen:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {module.TITLE} ({'quick' if args.quick else 'full'} sizes) ...", flush=True)
        started = time.monotonic()
        section = module.run(quick=args.quick)
        section.machine = report.machine()
        for row in section.rows:
            print(report.line(section, row), flush=True)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
        sections.append(section)
    if args.quick or args.no_write:
        print("BENCHMARKS.md not written (--quick or --no-write)")
    else:
        report.update(sections)
        print(f"BENCHMARKS.md updated: {', '.join(s.name for s in sections)}")
    missed = [(s.name, r.what) for s in sections for r in s.rows if r.met is False]
    for name, what in missed:
        print(f"aim missed: [{name}] {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
