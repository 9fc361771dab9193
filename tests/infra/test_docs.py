"""docs/deploy.md stays in step with the stack: every context key and every output is documented."""

from __future__ import annotations

from pathlib import Path

from infra.settings import CONTEXT_KEYS

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_every_context_key_is_in_the_table():
    text = DEPLOY_DOC.read_text()
    assert [key for key in CONTEXT_KEYS if f"| `{key}` |" not in text] == []


def test_every_stack_output_is_in_the_table(full):
    text = DEPLOY_DOC.read_text()
    outputs = [name for name in full.json["Outputs"] if not name.startswith("ExportsOutput")]  # CDK's own
    assert outputs and [name for name in outputs if f"| `{name}` |" not in text] == []
