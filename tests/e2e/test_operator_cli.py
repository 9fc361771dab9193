"""The operator commands (`grants list`, `grants show`, `sweep`, `events`) against the local stack."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.flows import authorize_over_http
from tests.e2e.test_cli import sellertoken

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def endpoints_file(stack):
    return stack.log_path.parent / "endpoints.json"


def test_a_sweep_from_the_cli_flags_the_revoked_seller_and_the_table_and_events_show_it(stack, endpoints_file):
    kept = [authorize_over_http(stack) for _ in range(2)]
    gone = authorize_over_http(stack)
    requests.post(f"{stack.amazon}/_control/revoke", json={"selling_partner_id": gone}, timeout=10).raise_for_status()
    where = ("--endpoints", str(endpoints_file))

    swept = sellertoken("sweep", *where)

    assert swept.returncode == 0, swept.stderr
    summary = json.loads(swept.stdout)
    assert summary["outcome"] == "completed" and summary["revoked"] >= 1 and summary["checked"] >= 3
    assert "checked" in swept.stderr and "[" in swept.stderr  # the progress bar
    listed = sellertoken("grants", "list", *where)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows[gone][3] == "revoked"
    assert all(rows[seller][3] == "active" for seller in kept)
    assert rows[gone][-1].startswith("20")  # last check: the sweep's time
    shown = sellertoken("grants", "show", gone, "--region", "na", *where)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["tags"]["sellertoken:status"] == "revoked"
    assert detail["tags"]["sellertoken:revoked-reason"] == "invalid_grant"
    assert "refresh_token" not in detail["value"] and "Atzr|" not in shown.stdout
    events = [json.loads(line) for line in sellertoken("events", *where).stdout.splitlines()]
    revoked = {e["detail"]["selling_partner_id"] for e in events if e["detail-type"] == "Seller Grant Revoked"}
    assert gone in revoked and not revoked & set(kept)  # other tests' revoked sellers may be flagged too
    assert any(e["detail-type"] == "Grant Sweep Completed" for e in events)
    assert "Atza|" not in json.dumps(events) and "Atzr|" not in json.dumps(events)


def test_showing_an_unknown_grant_exits_with_grant_not_found(endpoints_file):
    shown = sellertoken("grants", "show", "A0000000000000", "--region", "eu", "--endpoints", str(endpoints_file))

    assert shown.returncode == 4 and "GrantNotFound" in shown.stderr


def test_operator_commands_without_a_local_stack_say_how_to_start_one(tmp_path):
    result = sellertoken("grants", "list", cwd=tmp_path)

    assert result.returncode == 2 and "make run" in result.stderr
