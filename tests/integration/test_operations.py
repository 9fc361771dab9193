"""The ops function: an operator restores a grant's previous refresh token or flags a grant revoked."""

from __future__ import annotations

import importlib
import json
from urllib.parse import urlencode

import pytest
import requests

from devstack.lambda_context import LocalLambdaContext, invoke
from sellertoken import aws as aws_clients
from sellertoken import grants, names
from sellertoken.errors import GrantNotFound, GrantRevoked, InvalidRequest
from tests.integration.conftest import REDIRECT_URI, new_seller

TOKEN_MARKERS = ("Atzr|", "Atza|")


@pytest.fixture
def ops(aws):
    """The ops function in a container of its own: it shares no cached secret with the other functions,
    and its AWS calls are recorded as its own (the IAM check)."""
    module = importlib.import_module("handlers.ops")

    def run(payload: dict) -> dict:
        aws_clients.reset()  # a container of its own: fresh clients, and with them an empty secrets cache
        return invoke(module.handler, payload, LocalLambdaContext(names.function_name("ops")))

    return run


@pytest.fixture
def cold_vend(aws):
    """A vend in a container of its own (empty memory): what it answers comes from the shared cache or LWA."""
    module = importlib.import_module("handlers.vend")

    def run(seller: str) -> dict:
        module.vendor.cache_clear()
        return invoke(
            module.handler,
            {"selling_partner_id": seller, "region": "na"},
            LocalLambdaContext(names.function_name("vend")),
        )

    yield run
    module.vendor.cache_clear()


def store_behind(aws, access_token: str) -> str:
    answer = requests.get(
        f"{aws.amazon.base_url}/sellers/v1/marketplaceParticipations",
        headers={"x-amz-access-token": access_token},
        timeout=5,
    )
    return answer.json()["payload"][0]["storeName"]


def hijack_without_proof(browser, aws, victim: str) -> str:
    """What the policy lets through when Amazon offers no proof: another account's token lands on V's grant."""
    attacker = new_seller()
    started = browser.start("/authorize?region=na")
    code = aws.amazon.issue_code(attacker, REDIRECT_URI)
    query = urlencode({"state": started["state"], "selling_partner_id": victim, "spapi_oauth_code": code})
    assert browser.get(f"/callback?{query}")["statusCode"] == 200
    return attacker


def test_restore_brings_back_the_previous_token_and_the_vend_answers_for_the_old_account_again(
    browser, aws, authorize, ops, cold_vend
):
    # Given an app without the role, V's grant, and another account's token that landed on it unverified
    aws.amazon.set_sellers_role(False)
    victim = authorize()
    name = names.grant_secret_name("na", victim)
    original = aws.clients["secretsmanager"].get_secret_value(SecretId=name)
    attacker = hijack_without_proof(browser, aws, victim)
    aws.amazon.set_sellers_role(True)
    assert store_behind(aws, cold_vend(victim)["access_token"]) == aws.amazon.account(attacker)["store_name"]
    aws.events()

    # When the operator restores the previous version
    answer = ops({"operation": "restore_previous", "selling_partner_id": victim, "region": "na"})

    # Then V's own token is current again, and even a container warmed by the shared cache vends V's account
    current = aws.clients["secretsmanager"].get_secret_value(SecretId=name)
    assert (current["VersionId"], current["SecretString"]) == (original["VersionId"], original["SecretString"])
    assert answer["version_id"] == original["VersionId"] and answer["status"] == names.STATUS_ACTIVE
    assert store_behind(aws, cold_vend(victim)["access_token"]) == aws.amazon.account(victim)["store_name"]
    # and the bus heard it, without a token
    (event,) = [e for e in aws.events() if e["detail-type"] == names.EVENT_GRANT_RESTORED]
    assert event["detail"]["selling_partner_id"] == victim
    assert event["detail"]["replaced_version_id"] == answer["replaced_version_id"]
    assert not any(marker in json.dumps(event) for marker in TOKEN_MARKERS)


def test_restoring_twice_undoes_the_restore(browser, aws, authorize, ops):
    seller = authorize()
    authorize(seller=seller)
    name = names.grant_secret_name("na", seller)
    latest = aws.clients["secretsmanager"].get_secret_value(SecretId=name)["VersionId"]
    request = {"operation": "restore_previous", "selling_partner_id": seller, "region": "na"}

    ops(request)
    ops(request)

    assert aws.clients["secretsmanager"].get_secret_value(SecretId=name)["VersionId"] == latest


def test_restore_matches_the_tags_to_the_restored_value_and_clears_a_revocation(aws, authorize, ops):
    seller = authorize()
    first, _ = aws.grant("na", seller)
    authorize(seller=seller)
    grants.mark_revoked(names.DEFAULT_PREFIX, "na", seller, "invalid_grant")

    ops({"operation": "restore_previous", "selling_partner_id": seller, "region": "na"})

    _, tags = aws.grant("na", seller)
    assert tags[names.TAG_AUTHORIZED_AT] == first["authorized_at"]
    assert tags[names.TAG_STATUS] == names.STATUS_ACTIVE and names.TAG_REVOKED_AT not in tags


def test_a_grant_authorized_once_has_nothing_to_restore(aws, authorize, ops):
    seller = authorize()

    with pytest.raises(InvalidRequest, match="no previous version"):
        ops({"operation": "restore_previous", "selling_partner_id": seller, "region": "na"})


@pytest.mark.parametrize("operation", ["restore_previous", "revoke"])
def test_an_unknown_grant_is_grant_not_found(aws, ops, operation):
    with pytest.raises(GrantNotFound):
        ops({"operation": operation, "selling_partner_id": new_seller(), "region": "na"})


def test_an_operator_revocation_stops_vending_and_is_announced(aws, authorize, ops, cold_vend):
    # Given V's grant, with a token in the shared cache
    seller = authorize()
    cold_vend(seller)

    # When the operator revokes it
    answer = ops({"operation": "revoke", "selling_partner_id": seller, "region": "na"})

    # Then it is tagged revoked by the operator, no container vends it, and the bus heard it once
    assert (answer["status"], answer["already_revoked"]) == (names.STATUS_REVOKED, False)
    _, tags = aws.grant("na", seller)
    assert (tags[names.TAG_STATUS], tags[names.TAG_REVOKED_REASON]) == (names.STATUS_REVOKED, "operator")
    with pytest.raises(GrantRevoked):
        cold_vend(seller)
    (event,) = aws.events()
    assert event["detail-type"] == names.EVENT_GRANT_REVOKED
    assert event["detail"]["detected_by"] == "operator"
    assert ops({"operation": "revoke", "selling_partner_id": seller, "region": "na"})["already_revoked"] is True
    assert aws.events() == []


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {},
        {"operation": "delete", "selling_partner_id": "A3FHEXAMPLEYWS", "region": "na"},
        {"operation": "revoke", "selling_partner_id": "a3fh", "region": "na"},
        {"operation": "revoke", "selling_partner_id": "A3FHEXAMPLEYWS", "region": "us"},
        {"operation": "revoke", "selling_partner_id": "A3FHEXAMPLEYWS"},
        {"operation": "revoke", "selling_partner_id": "A3FHEXAMPLEYWS", "region": "na", "force": True},
        {"operation": ["revoke"], "selling_partner_id": "A3FHEXAMPLEYWS", "region": "na"},
    ],
    ids=["not-an-object", "empty", "unknown-operation", "bad-seller", "bad-region", "no-region", "extra-field", "list"],
)
def test_a_malformed_operation_is_invalid_request_and_changes_nothing(aws, ops, payload):
    before = aws.snapshot()

    with pytest.raises(InvalidRequest):
        ops(payload)

    assert aws.snapshot() == before and aws.events() == []
