"""Result rows, the line each one prints, and BENCHMARKS.md (one section per scenario, updated in place)."""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import ROOT

MARKDOWN = ROOT / "BENCHMARKS.md"
PYTHON = ".venv/bin/python"


@dataclass(frozen=True)
class Row:
    what: str
    figure: str
    aim: str = "—"
    met: bool | None = None  # None: no aim, only a figure to read

    @property
    def verdict(self) -> str:
        return "" if self.met is None else " ✅" if self.met else " ❌ missed"


@dataclass
class Section:
    name: str  # the scenario's module and CLI name
    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    machine: str = ""

    @property
    def command(self) -> str:
        return f"`{PYTHON} -m benchmarks {self.name}`"


def machine() -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = _cpu_model()
    return (
        f"{when}; nproc {os.cpu_count()}{f' ({cpu})' if cpu else ''}; "
        f"Python {platform.python_version()} ({sys.implementation.name}); {platform.system()} {platform.machine()}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def line(section: Section, row: Row) -> str:
    aim = "" if row.aim == "—" else f"  [aim {row.aim}{row.verdict}]"
    return f"[{section.name}] {row.what}: {row.figure}{aim}"


# -- BENCHMARKS.md --------------------------------------------------------------------------------

HEADER = """# Benchmarks

Measured by `make bench` (= `{python} -m benchmarks`; `{python} -m benchmarks vend`, `… sweep` or one
scenario by name; `--quick` runs small sizes and leaves this file alone). Everything runs on loopback: moto's
server (devstack's `LocalAwsServer`, DynamoDB requests serialized) and the Amazon simulator run in the
orchestrating process; each workload runs in processes of its own (spawn) configured as devstack configures
a function (`AWS_ENDPOINT_URL`, `SELLERTOKEN_*`). Figures from moto and the simulator say what the broker
does and costs on top of its round trips, not what AWS's or Amazon's latencies would be. Each section says
when and on what machine it was measured; a run of one scenario rewrites only its own section.
"""

ORDER = (
    "consent",
    "vend_memory",
    "vend_remote",
    "stampede",
    "fleet",
    "cold_start",
    "revocation",
    "lwa_hang",
    "lwa_budget",
    "sweep",
    "rotation",
    "scale",
)
_SECTION = re.compile(r"<!-- bench:(?P<name>[a-z_]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->\n?", re.S)


def render(section: Section) -> str:
    out = [f"<!-- bench:{section.name} -->", f"## {section.title}", ""]
    out.append(f"Measured {section.machine or machine()}. Command: {section.command}.")
    out += ["", "| What | Figure | Aim | Command |", "| --- | --- | --- | --- |"]
    for row in section.rows:
        aim = row.aim + row.verdict
        out.append(f"| {_cell(row.what)} | {_cell(row.figure)} | {_cell(aim)} | {section.command} |")
    if section.notes:
        out.append("")
        out += [f"- {note}" for note in section.notes]
    out += [f"<!-- /bench:{section.name} -->", ""]
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def update(sections: list[Section], path: Path = MARKDOWN) -> None:
    """Rewrite the sections just measured; keep the others as the last run of them left them."""
    kept: dict[str, str] = {}
    if path.exists():
        for match in _SECTION.finditer(path.read_text()):
            kept[match.group("name")] = match.group(0).rstrip("\n") + "\n"
    for section in sections:
        kept[section.name] = render(section)
    names = [n for n in ORDER if n in kept] + sorted(n for n in kept if n not in ORDER)
    body = "\n".join(kept[n] for n in names)
    path.write_text(HEADER.format(python=PYTHON) + "\n" + body)
