"""SECURITY.md names the test that proves each mitigation: every test it names exists, so a renamed or
removed test cannot leave a claim without its proof."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `integration/test_x.py` or `integration/test_x.py::test_name`, relative to tests/.
REFERENCE = re.compile(r"`((?:unit|integration|e2e|infra|faults)/[a-z0-9_]+\.py)(?:::([A-Za-z_]\w*))?")


def references() -> list[tuple[str, str | None]]:
    return [(path, name or None) for path, name in REFERENCE.findall((ROOT / "SECURITY.md").read_text())]


def test_security_md_names_at_least_twenty_proofs():
    assert len(references()) >= 20


def test_every_test_security_md_names_exists():
    missing = []
    for path, name in references():
        source = ROOT / "tests" / path
        if not source.is_file():
            missing.append(path)
            continue
        if name is not None:
            defined = {
                node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)
            }
            if name not in defined:
                missing.append(f"{path}::{name}")
    assert missing == []
