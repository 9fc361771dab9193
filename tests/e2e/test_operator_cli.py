"""The operator commands (`grants list|show|restore|revoke`, `sweep`, `events`) against the local stack."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.flows import authorize_over_http, new_seller
from tests.e2e.test_cli import sellertoken

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def endpoints_file(stack):
    return stack.log_path.parent / "endpoints.json"


def test_a_full_sweep_from_the_cli_flags_the_revoked_seller_and_the_table_and_events_show_it(stack, endpoints_file):
    # Given a seller vended a moment ago (a refresh a default sweep would count as the grant's check), who then
    # removes the app at Amazon
    kept = [authorize_over_http(stack) for _ in range(2)]
    gone = authorize_over_http(stack)
    where = ("--endpoints", str(endpoints_file))
    assert sellertoken("vend", gone, "--region", "na", *where).returncode == 0
    requests.post(f"{stack.amazon}/_control/revoke", json={"selling_partner_id": gone}, timeout=10).raise_for_status()

    # When an operator asks for a full sweep
    swept = sellertoken("sweep", "--full", *where)

    assert swept.returncode == 0, swept.stderr
    # Then LWA was asked for every grant, and the seller is flagged
    summary = json.loads(swept.stdout)
    assert summary["outcome"] == "completed" and summary["revoked"] >= 1 and summary["checked"] >= 3
    assert summary["full"] is True and summary["proven"] == 0
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


def test_grants_restore_brings_back_the_previous_token_and_vend_opens_the_old_account(stack, endpoints_file):
    # Given an app without the Sellers API role, where another account's token landed on V's grant unverified
    control = f"{stack.amazon}/_control"
    victim = authorize_over_http(stack)
    requests.post(f"{control}/roles", json={"sellers_api": False}, timeout=10).raise_for_status()
    try:
        authorize_over_http(stack, victim, account=new_seller())
    finally:
        requests.post(f"{control}/roles", json={"sellers_api": True}, timeout=10).raise_for_status()
    where = ("--endpoints", str(endpoints_file))

    # When the operator restores the previous version
    restored = sellertoken("grants", "restore", victim, "--region", "na", *where)

    # Then the command says which version is current again, and a vend opens V's own account
    assert restored.returncode == 0, restored.stderr
    answer = json.loads(restored.stdout)
    assert (answer["operation"], answer["selling_partner_id"], answer["status"]) == (
        "restore_previous",
        victim,
        "active",
    )
    token = sellertoken("vend", victim, "--region", "na", *where).stdout.strip()
    store = requests.get(f"{stack.amazon}/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": token},
                         timeout=10).json()["payload"][0]["storeName"]  # fmt: skip
    mine = requests.get(f"{control}/accounts", params={"selling_partner_id": victim}, timeout=10).json()["store_name"]
    assert store == mine
    assert "Atzr|" not in restored.stdout + restored.stderr


def test_grants_revoke_stops_vending_and_a_second_restore_needs_a_previous_version(stack, endpoints_file):
    seller = authorize_over_http(stack)
    where = ("--endpoints", str(endpoints_file))

    revoked = sellertoken("grants", "revoke", seller, "--region", "na", *where)

    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["status"] == "revoked"
    vend = sellertoken("vend", seller, "--region", "na", *where)
    assert vend.returncode == 5 and "GrantRevoked" in vend.stderr
    nothing = sellertoken("grants", "restore", seller, "--region", "na", *where)
    assert nothing.returncode == 3 and "InvalidRequest" in nothing.stderr and "no previous version" in nothing.stderr


def test_grants_restore_of_an_unknown_grant_exits_with_grant_not_found(endpoints_file):
    result = sellertoken("grants", "restore", "A0000000000000", "--region", "fe", "--endpoints", str(endpoints_file))

    assert result.returncode == 4 and "GrantNotFound" in result.stderr
