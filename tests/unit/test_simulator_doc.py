"""docs/simulator.md and the simulator's marker comments cannot drift apart: every `source(key)` or
`inferred(key)` marker in devstack/amazon/ has its row, every row its marker, a row says "inferred" exactly
when its marker does, and every test a row names exists."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "devstack" / "amazon"
DOC = ROOT / "docs" / "simulator.md"
MARKER = re.compile(r"\b(source|inferred)\(([a-z0-9.-]+)\):\s*\S")
TEST = re.compile(r"`([\w/]+\.py)::(\w+)`")


def markers() -> dict[str, tuple[str, str]]:
    """key -> (kind, where), from every comment in the simulator's modules."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(SIMULATOR.glob("*.py")):
        with path.open("rb") as source:
            comments = [t for t in tokenize.tokenize(source.readline) if t.type == tokenize.COMMENT]
        for comment in comments:
            for kind, key in MARKER.findall(comment.string):
                where = f"{path.name}:{comment.start[0]}"
                assert key not in found, f"{key} is marked twice: {found[key][1]} and {where}"
                found[key] = (kind, where)
    return found


def rows() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """key -> (source column, [(test file, test name)]), from the table between the behaviours markers."""
    text = DOC.read_text()
    table = text.split("<!-- behaviours -->", 1)[1].split("<!-- /behaviours -->", 1)[0]
    found: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, f"a row needs key, behaviour, source and tests: {line[:80]}"
        key = cells[0].strip("`")
        assert key not in found, f"{key} has two rows"
        found[key] = (cells[2], TEST.findall(cells[3]))
    return found


def test_every_marker_has_its_row_and_every_row_its_marker():
    in_code, in_doc = set(markers()), set(rows())

    assert in_code - in_doc == set(), "marked in the code, missing from docs/simulator.md"
    assert in_doc - in_code == set(), "in docs/simulator.md, marked nowhere in the code"


@pytest.mark.parametrize("key", sorted(rows()))
def test_a_row_is_inferred_exactly_when_its_marker_is_and_names_tests_that_exist(key):
    source, tests = rows()[key]
    kind, where = markers().get(key, ("missing", "nowhere"))

    assert (kind == "inferred") == source.startswith("inferred"), f"{key}: {where} says {kind}, the doc {source!r}"
    assert source and tests, f"{key}: a row names its source and at least one test"
    for file, name in tests:
        path = ROOT / "tests" / file
        assert path.is_file() and re.search(rf"^def {name}\(", path.read_text(), re.M), f"{key}: no {file}::{name}"


def test_the_doc_says_what_is_not_modelled():
    assert "## Not modelled" in DOC.read_text()
