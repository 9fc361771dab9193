"""Tables the docs hold that are derived from code: the README's errorType table (the vend contract,
lambdas/sellertoken/errors.py) and docs/faults.md's outcome tables (the fault matrices, tests/faults/matrix.py and
rotation_matrix.py).

Tests compare the files with what this renders; `.venv/bin/python -m tests.doc_tables` rewrites them.
"""

from __future__ import annotations

import re
from pathlib import Path

from sellertoken.errors import CONTRACT

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FAULTS = ROOT / "docs" / "faults.md"


def errortype_table() -> str:
    lines = [
        "| errorType | meaning | what to do | retry helps | CLI exit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for error in CONTRACT:
        retry = "yes" if error.retryable else "no"
        lines.append(f"| `{error.error_type}` | {error.meaning} | {error.action} | {retry} | {error.exit_code} |")
    return "\n".join(lines)


def fault_table() -> str:
    from tests.faults.matrix import render

    return render()


def rotation_fault_table() -> str:
    from tests.faults.rotation_matrix import render

    return render()


def section(text: str, name: str) -> str | None:
    """What `text` holds between `<!-- name -->` and `<!-- /name -->` (None: no such markers)."""
    found = re.search(rf"<!-- {name} -->\n(.*?)<!-- /{name} -->", text, re.S)
    return found.group(1).rstrip("\n") if found else None


def replaced(text: str, name: str, body: str) -> str:
    if section(text, name) is None:
        raise ValueError(f"no <!-- {name} --> section")
    pattern = rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)"
    return re.sub(pattern, lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)


def main() -> None:
    README.write_text(replaced(README.read_text(), "errortypes", errortype_table()))
    FAULTS.write_text(replaced(FAULTS.read_text(), "fault-matrix", fault_table()))
    FAULTS.write_text(replaced(FAULTS.read_text(), "rotation-fault-matrix", rotation_fault_table()))


if __name__ == "__main__":
    main()
