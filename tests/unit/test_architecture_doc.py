"""docs/architecture.md stays true: every file it names exists, and it lists every record of the table."""

from __future__ import annotations

import re
from pathlib import Path

from sellertoken import table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def test_every_path_the_architecture_page_names_exists():
    named = set(re.findall(r"`((?:lambdas|infra|devstack|client|tests|benchmarks)/[\w/.]+)`", DOC.read_text()))

    assert named and sorted(p for p in named if not (ROOT / p).exists()) == []


def test_the_architecture_page_lists_every_record_of_the_table():
    text = DOC.read_text()
    records = {k: v for k, v in vars(table).items() if k.endswith(("_PREFIX", "_KEY")) and k != "PARTITION_KEY"}
    keys = list(records.values())

    assert len(keys) == 9 and [key for key in keys if f"`{key}" not in text] == []
