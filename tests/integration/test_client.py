"""The local Lambda Invoke endpoint and the client library in-process: the endpoint's own Lambda behaviours
with small handlers, and TokenBroker over HTTP against the real vend handler on moto and the simulator."""

from __future__ import annotations

import functools
import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from devstack.lambda_invoke import LocalLambda
from devstack.lambda_invoke import function_arn as local_arn
from sellertoken import names
from sellertoken_client import BrokerError, GrantNotFound, TokenBroker, broker
from sellertoken_client.errors import from_function_error
from tests.clients import InvokeCounter

VEND = names.function_name("vend")


@contextmanager
def serving(functions: dict[str, Callable], **options) -> Iterator[tuple[LocalLambda, object]]:
    """A LocalLambda on a free port and boto3's Lambda client pointed at it."""
    local = LocalLambda(functions, **options)
    url = local.start()
    client = _session().client("lambda", endpoint_url=url, config=BotoConfig(retries={"max_attempts": 1}))
    try:
        yield local, client
    finally:
        local.stop()


@functools.cache
def _session() -> boto3.session.Session:  # one session: its loaded service models are reused
    return boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")


def payload_of(response) -> object:
    return json.loads(response["Payload"].read())


@pytest.fixture
def vend_broker(aws):
    """A TokenBroker over HTTP to the real vend handler (fresh container) on moto and the simulator."""
    module = importlib.import_module("handlers.vend")
    module.vendor.cache_clear()
    with serving({VEND: module.handler}) as (_, client):
        yield TokenBroker(VEND, lambda_client=client, cache_size=2), InvokeCounter(client)
    module.vendor.cache_clear()


# --------------------------------------------------------------------------- the endpoint's Lambda behaviours


def test_the_handler_gets_the_event_and_a_context_naming_the_function():
    seen = {}

    def handler(event, context):
        seen.update(event=event, name=context.function_name, arn=context.invoked_function_arn)
        seen["request_id"] = context.aws_request_id
        return {"ok": True}

    with serving({"f": handler}) as (_, client):
        response = client.invoke(FunctionName="f", Payload=b'{"a": [1, 2]}')

    assert payload_of(response) == {"ok": True}
    assert seen["event"] == {"a": [1, 2]} and seen["name"] == "f" and seen["arn"] == local_arn("f")
    assert response["ResponseMetadata"]["RequestId"] == seen["request_id"]


def test_an_empty_payload_is_an_empty_event():
    with serving({"f": lambda event, context: event}) as (_, client):
        assert payload_of(client.invoke(FunctionName="f")) == {}


def test_an_exception_is_reported_without_its_stack_trace():
    def handler(event, context):
        local_secret = "Atzr|must-not-leak"  # noqa: F841 - a frame value a trace could show
        raise ValueError("bad input")

    with serving({"f": handler}) as (_, client):
        response = client.invoke(FunctionName="f", Payload=b"{}")
        body = response["Payload"].read()

    assert response["FunctionError"] == "Unhandled"
    document = json.loads(body)
    assert (document["errorType"], document["errorMessage"], document["stackTrace"]) == ("ValueError", "bad input", [])
    assert b"must-not-leak" not in body and b"Traceback" not in body


def test_an_event_invocation_is_accepted_and_runs_in_the_background():
    ran = threading.Event()
    with serving({"f": lambda event, context: ran.set()}) as (_, client):
        response = client.invoke(FunctionName="f", InvocationType="Event", Payload=b"{}")

        assert response["StatusCode"] == 202 and ran.wait(5)


def test_a_dry_run_runs_nothing():
    ran = threading.Event()
    with serving({"f": lambda event, context: ran.set()}) as (_, client):
        response = client.invoke(FunctionName="f", InvocationType="DryRun", Payload=b"{}")

    assert response["StatusCode"] == 204 and not ran.is_set()


def test_a_handler_that_outlives_its_timeout_is_reported_as_timed_out():
    with serving({"f": lambda event, context: time.sleep(2)}, timeout_seconds=0.2) as (_, client):
        response = client.invoke(FunctionName="f", Payload=b"{}")

    document = payload_of(response)
    assert response["FunctionError"] == "Unhandled" and document["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.20 seconds" in document["errorMessage"]


def test_an_answer_that_is_not_json_is_a_marshal_error():
    with serving({"f": lambda event, context: {"when": object()}}) as (_, client):
        response = client.invoke(FunctionName="f", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled" and payload_of(response)["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize(
    "function",
    [
        "f:beta",
        "arn:aws:lambda:eu-west-1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:210987654321:function:f",
        "g",
    ],
)
def test_another_version_region_account_or_name_is_not_found(function):
    with serving({"f": lambda event, context: {}}) as (_, client), pytest.raises(ClientError) as raised:
        client.invoke(FunctionName=function, Payload=b"{}")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_qualifier_parameter_selects_the_alias():
    with serving({"f": lambda event, context: {"ok": 1}}) as (_, client):
        assert payload_of(client.invoke(FunctionName="f", Qualifier="live", Payload=b"{}")) == {"ok": 1}


# --------------------------------------------------------------------------- the client library


def test_the_client_maps_a_function_error_it_does_not_know_to_broker_error():
    error = from_function_error({"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"})

    assert type(error) is BrokerError and error.error_type == "Sandbox.Timedout"


def test_an_answer_without_a_token_is_a_broker_error():
    with serving({VEND: lambda event, context: {"unexpected": True}}) as (_, client):
        with pytest.raises(BrokerError) as raised:
            TokenBroker(VEND, lambda_client=client).get_access_token("A1B2C3D4E5F6G7", "na")

    assert raised.value.error_type == "BadAnswer"


def test_the_least_lifetime_asked_is_sent_to_the_function(vend_broker, authorize):
    sent = []
    token_broker, _ = vend_broker
    token_broker.lambda_client.meta.events.register(
        "before-call.lambda.Invoke", lambda params, **_: sent.append(json.loads(params["body"]))
    )
    first, second = authorize(), authorize()
    token_broker.min_ttl_seconds = 300

    token_broker.get_access_token(first, "na")
    token_broker.get_access_token(second, "na", min_ttl_seconds=900)

    assert [body.get("min_ttl_seconds") for body in sent] == [300, 900]


def test_the_cache_is_bounded_and_drops_the_least_recently_used_first(vend_broker, authorize):
    token_broker, invokes = vend_broker  # cache_size=2
    first, second, third = authorize(), authorize(), authorize()

    for seller in (first, second, first, third):  # third pushes out second, the least recently used
        token_broker.get_access_token(seller, "na")
    assert invokes.count == 3
    token_broker.get_access_token(first, "na")
    assert invokes.count == 3
    token_broker.get_access_token(second, "na")
    assert invokes.count == 4


def test_errors_are_not_cached(vend_broker, authorize):
    token_broker, invokes = vend_broker
    seller = "A1B2C3D4E5F6G7"

    for _ in range(2):
        with pytest.raises(GrantNotFound):
            token_broker.get_access_token(seller, "na")

    assert invokes.count == 2


def test_the_default_broker_takes_its_function_and_region_from_the_environment(monkeypatch):
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:sellertoken-vend:live"
    monkeypatch.setenv(broker.ENV_FUNCTION, arn)
    monkeypatch.setattr(broker, "_default", None)

    default = broker.default_broker()

    assert default.function == arn and default.lambda_client.meta.region_name == "eu-west-1"
    assert broker.default_broker() is default


def test_the_module_level_get_access_token_uses_the_default_broker(vend_broker, authorize, monkeypatch):
    token_broker, _ = vend_broker
    monkeypatch.setattr(broker, "_default", token_broker)
    seller = authorize()

    assert broker.get_access_token(seller, "na").selling_partner_id == seller
