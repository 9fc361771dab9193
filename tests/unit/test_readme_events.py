"""The README's events table names every event the broker publishes (names.EVENT_*), and no other."""

from __future__ import annotations

import re
from pathlib import Path

from sellertoken import names

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_events_table_lists_exactly_the_published_events():
    section = README.read_text().split("## Events", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)+)`", section))

    published = {v for k, v in vars(names).items() if k.startswith("EVENT_") and k != "EVENT_SOURCE"}
    assert listed == published
