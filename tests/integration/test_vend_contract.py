"""The vend handler never lets a failure out under a name outside the contract (errors.CONTRACT)."""

from __future__ import annotations

import importlib

import pytest

from devstack.lambda_context import LocalLambdaContext
from sellertoken import names
from sellertoken.config import get_config
from sellertoken.errors import CONTRACT, BrokerFault, GrantRevoked

TOKEN_IN_A_BUG = "Atza|" + "leaked" * 10


@pytest.fixture
def handler(aws, monkeypatch):
    """The vend handler with a fresh container, and the metrics it counts."""
    module = importlib.import_module("handlers.vend")
    module.vendor.cache_clear()
    counted: list[str] = []
    monkeypatch.setattr(module, "count", lambda metric, value=1: counted.append(metric))
    yield module, counted
    module.vendor.cache_clear()


def invoke(module, payload: dict):
    return module.handler(payload, LocalLambdaContext(names.function_name("vend")))


def test_a_bug_leaves_as_broker_fault_naming_only_its_type_logged_and_counted(handler, authorize, monkeypatch, caplog):
    # Given a bug deep in the vend path whose exception text holds a token
    module, counted = handler
    seller = authorize()

    def broken(self, request):
        raise KeyError(TOKEN_IN_A_BUG)

    monkeypatch.setattr(module.Vendor, "vend", broken)

    # When a vend runs into it
    with pytest.raises(BrokerFault) as raised:
        invoke(module, {"selling_partner_id": seller, "region": "na"})

    # Then Lambda reports BrokerFault, whose message, the log and the chain hold nothing of the text
    assert type(raised.value) is BrokerFault and str(raised.value) == "internal error (KeyError)"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    (failed,) = [r for r in caplog.records if r.getMessage() == "vend failed"]
    assert (failed.error_type, failed.cause) == ("BrokerFault", "KeyError")
    assert all(TOKEN_IN_A_BUG not in str(vars(record)) for record in caplog.records)
    assert counted == [names.METRIC_BROKER_FAULT]


def test_a_misconfigured_function_answers_broker_fault_naming_the_variable(handler, monkeypatch):
    # Given the vend function lost a required setting (as a cold start would read it)
    module, _ = handler
    monkeypatch.delenv(names.ENV_TABLE_NAME)
    get_config.cache_clear()

    # When it is invoked, Then it answers the contract's BrokerFault, naming the variable
    with pytest.raises(BrokerFault, match=names.ENV_TABLE_NAME):
        invoke(module, {"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na"})


def test_a_payload_that_is_not_an_object_is_an_invalid_request(handler):
    module, _ = handler

    for payload in (None, [], "A1B2C3D4E5F6G7", 3):
        with pytest.raises(Exception) as raised:
            invoke(module, payload)
        assert type(raised.value).__name__ == "InvalidRequest" and type(raised.value) in CONTRACT


def test_a_revocation_that_cannot_be_recorded_still_answers_grant_revoked(handler, authorize, aws):
    # Given a seller who removed the app, and Secrets Manager refusing to tag the grant
    from botocore.awsrequest import AWSResponse

    from sellertoken import aws as aws_clients

    module, _ = handler
    seller = authorize()
    aws.amazon.revoke(seller)
    refused = {"Error": {"Code": "AccessDeniedException", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    answer = (AWSResponse("https://refused.invalid/", 400, {}, None), refused)
    aws_clients.client("secretsmanager").meta.events.register_first(
        "before-call.secrets-manager.TagResource", lambda **_: answer
    )

    # When a vend finds out from LWA
    with pytest.raises(GrantRevoked):
        invoke(module, {"selling_partner_id": seller, "region": "na"})

    # Then the caller hears LWA's answer; the grant is not flagged (the next sweep does it), nothing is announced
    _, tags = aws.grant("na", seller)
    assert tags[names.TAG_STATUS] == names.STATUS_ACTIVE
    assert [e for e in aws.events() if e["detail-type"] == names.EVENT_GRANT_REVOKED] == []
