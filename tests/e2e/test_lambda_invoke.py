"""The local Lambda Invoke endpoint and the client library against the local stack (subprocess): boto3's own
Lambda client, TokenBroker with its cache and error types, and the two SP-API libraries through their adapters,
each making a real call to the simulator's SP-API with a token from the broker."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from sp_api.api import Orders, Sellers
from spapi import OrdersV0Api, SellersApi

from sellertoken import names
from sellertoken_client import (
    AppCredentialsRejected,
    BrokerError,
    BrokerFault,
    GrantNotFound,
    GrantRevoked,
    InvalidRequest,
    Token,
    TokenBroker,
    UpstreamUnavailable,
)
from sellertoken_client.sdk import broker_api_client
from sellertoken_client.sp_api import BROKER_CREDENTIALS, BrokerAccessTokenClient, broker_client
from tests.clients import InvokeCounter
from tests.e2e.flows import ANSWER_KEYS, authorize_over_http, new_seller

pytestmark = pytest.mark.e2e

VEND = names.function_name("vend")
VEND_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{VEND}"
ORDERS_RESOURCE = {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}
US = "ATVPDKIKX0DER"


# --------------------------------------------------------------------------- helpers


def control(stack, path: str, body: dict) -> None:
    response = requests.post(f"{stack.amazon}/_control/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text


def sp_api_accepts(stack, token: str) -> bool:
    response = requests.get(
        f"{stack.amazon}/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": token}, timeout=10
    )
    return response.status_code == 200


def invoke(client, function: str, payload: object) -> tuple[dict, object]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=raw)
    return response, json.loads(response["Payload"].read())


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lambda_client(stack):
    """boto3's own Lambda client, pointed at the local endpoint and nothing else."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.endpoints["region"]
    )
    config = BotoConfig(connect_timeout=2, read_timeout=40, retries={"max_attempts": 1})
    return session.client("lambda", endpoint_url=stack.endpoints["lambda"], config=config)


@pytest.fixture(scope="module")
def seller(stack) -> str:
    """A seller authorized once for this module."""
    return authorize_over_http(stack)


@pytest.fixture
def broker(stack) -> TokenBroker:
    """A broker with an empty cache on the local stack, as an application would build it."""
    return TokenBroker.for_local_stack(stack.endpoints)


@pytest.fixture
def invokes(broker) -> InvokeCounter:
    return InvokeCounter(broker.lambda_client)


# --------------------------------------------------------------------------- the Invoke endpoint, with boto3


def test_endpoints_name_the_lambda_endpoint_and_the_vend_function(stack):
    assert stack.endpoints["lambda"].startswith("http://127.0.0.1:")
    assert stack.endpoints["functions"] == {
        "vend": VEND,
        "sweep": names.function_name("sweep"),
        "ops": names.function_name("ops"),
        "rotation": names.function_name("rotation"),
    }


@pytest.mark.parametrize(
    "function", [VEND, VEND_ARN, f"{VEND}:live", f"{VEND_ARN}:live", f"123456789012:function:{VEND}"]
)
def test_boto3_invokes_the_vend_function_by_name_or_arn(lambda_client, stack, seller, function):
    response, answer = invoke(lambda_client, function, {"selling_partner_id": seller, "region": "na"})

    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert set(answer) == ANSWER_KEYS
    assert (answer["selling_partner_id"], answer["region"], answer["kind"]) == (seller, "na", "access")
    assert answer["endpoint"] == stack.amazon and sp_api_accepts(stack, answer["access_token"])


@pytest.mark.parametrize(
    ("payload", "error_type"),
    [
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "xx"}, "InvalidRequest"),
        ({"selling_partner_id": "ANOGRANT0000000", "region": "na"}, "GrantNotFound"),
    ],
)
def test_a_handler_error_comes_back_as_an_unhandled_function_error(lambda_client, payload, error_type):
    response, document = invoke(lambda_client, VEND, payload)

    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert document["errorType"] == error_type and document["errorMessage"]
    assert document["stackTrace"] == []
    assert set(document) == {"errorType", "errorMessage", "requestId", "stackTrace"}


def test_an_unknown_function_is_resource_not_found(lambda_client, stack):
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName="sellertoken-nope", Payload=b"{}")

    error = raised.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "arn:aws:lambda:us-east-1:123456789012:function:sellertoken-nope" in error["Error"]["Message"]


def test_the_not_found_answer_has_lambdas_shape_on_the_wire(stack):
    response = requests.post(
        f"{stack.endpoints['lambda']}/2015-03-31/functions/{quote(VEND_ARN + ':beta', safe='')}/invocations",
        data=b"{}",
        timeout=10,
    )

    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert response.json() == {"Type": "User", "message": f"Function not found: {VEND_ARN}:beta"}


def test_a_payload_that_is_not_json_is_invalid_request_content(lambda_client):
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=VEND, Payload=b'{"selling_partner_id": ')

    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --------------------------------------------------------------------------- the client library


def test_the_client_returns_a_token_sp_api_accepts_and_hides_it_in_repr(broker, stack, seller):
    token = broker.get_access_token(seller, "na")

    assert isinstance(token, Token) and sp_api_accepts(stack, token.access_token)
    assert (token.selling_partner_id, token.region, token.kind) == (seller, "na", "access")
    assert token.endpoint == stack.amazon
    assert timedelta(minutes=58) < token.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    assert token.access_token not in repr(token) and "Atza" not in repr(token)


def test_the_client_asks_for_a_restricted_data_token_and_a_grantless_token(broker, stack, seller):
    rdt = broker.get_restricted_data_token(seller, "na", [ORDERS_RESOURCE])
    grantless = broker.get_grantless_token("sellingpartnerapi::notifications")

    orders = requests.get(
        f"{stack.amazon}/orders/v0/orders", headers={"x-amz-access-token": rdt.access_token}, timeout=10
    )
    assert rdt.kind == "restricted" and orders.status_code == 200
    assert grantless.kind == "grantless" and grantless.selling_partner_id is None and grantless.endpoint is None


def test_a_second_call_is_served_from_the_clients_cache_without_an_invoke(broker, invokes, seller):
    first = broker.get_access_token(seller, "na")
    second = broker.get_access_token(seller, "na", min_ttl_seconds=600)

    assert second == first and invokes.count == 1


def test_a_cached_token_is_served_only_while_enough_time_is_left(broker, invokes, seller):
    token = broker.get_access_token(seller, "na")
    left = token.expires_at.timestamp() - datetime.now(UTC).timestamp()
    real_clock = broker._clock

    broker._clock = lambda: real_clock() + left - 1000  # as if 1,000 s were left
    broker.get_access_token(seller, "na", min_ttl_seconds=900)
    assert invokes.count == 1
    broker.get_access_token(seller, "na", min_ttl_seconds=1100)
    assert invokes.count == 2
    broker._clock = lambda: real_clock() + left - 59  # under a minute left: never served
    broker.get_access_token(seller, "na")
    assert invokes.count == 3


def test_concurrent_callers_of_one_broker_share_one_invoke(broker, invokes, seller):
    tokens: list[Token] = []
    threads = [threading.Thread(target=lambda: tokens.append(broker.get_access_token(seller, "na"))) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(tokens) == 12 and len({t.access_token for t in tokens}) == 1
    assert invokes.count == 1


def _invalid_request(stack, broker):
    broker.get_access_token("A1B2C3D4E5F6G7", "xx")


def _grant_not_found(stack, broker):
    broker.get_access_token(new_seller(), "na")


def _grant_revoked(stack, broker):
    seller = authorize_over_http(stack)
    control(stack, "revoke", {"selling_partner_id": seller})
    broker.get_access_token(seller, "na")


def _app_credentials_rejected(stack, broker):
    seller = authorize_over_http(stack)  # never vended: nothing cached, the broker must call LWA
    control(stack, "client-secret", {"valid": False})
    try:
        broker.get_access_token(seller, "na")
    finally:
        control(stack, "client-secret", {"valid": True})


def _upstream_unavailable(stack, broker):
    seller = authorize_over_http(stack)
    control(stack, "fault", {"endpoint": "token", "status": 503})
    try:
        broker.get_access_token(seller, "na")
    finally:
        control(stack, "fault", {"endpoint": "token"})


def _broker_fault(stack, broker):
    seller = authorize_over_http(stack)
    control(stack, "fault", {"endpoint": "token", "status": 400, "error": "unsupported_grant_type"})
    try:
        broker.get_access_token(seller, "na")
    finally:
        control(stack, "fault", {"endpoint": "token"})


def _unknown_function(stack, broker):
    TokenBroker.for_local_stack({**stack.endpoints, "functions": {"vend": "sellertoken-nope"}}).get_access_token(
        new_seller(), "na"
    )


@pytest.mark.parametrize(
    ("provoke", "expected", "error_type"),
    [
        (_invalid_request, InvalidRequest, "InvalidRequest"),
        (_grant_not_found, GrantNotFound, "GrantNotFound"),
        (_grant_revoked, GrantRevoked, "GrantRevoked"),
        (_app_credentials_rejected, AppCredentialsRejected, "AppCredentialsRejected"),
        (_upstream_unavailable, UpstreamUnavailable, "UpstreamUnavailable"),
        (_broker_fault, BrokerFault, "BrokerFault"),
        (_unknown_function, BrokerError, "ResourceNotFoundException"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
def test_the_client_raises_the_exception_of_each_error_type(stack, broker, provoke, expected, error_type):
    with pytest.raises(expected) as raised:
        provoke(stack, broker)

    assert type(raised.value) is expected and raised.value.error_type == error_type and str(raised.value)


# --------------------------------------------------------------------------- python-amazon-sp-api


def test_python_amazon_sp_api_calls_sellers_with_a_broker_token(broker, invokes, stack, seller):
    sellers = broker_client(Sellers, seller, "na", broker=broker, endpoint=stack.amazon)

    response = sellers.get_marketplace_participation()

    assert response.payload[0]["marketplace"]["id"] == US
    assert sellers.credentials.refresh_token is None
    assert sellers.credentials.lwa_app_id == BROKER_CREDENTIALS["lwa_app_id"]
    assert invokes.count == 1


def test_python_amazon_sp_api_reads_orders_through_its_own_restricted_data_token_call(broker, stack, seller):
    orders = broker_client(Orders, seller, "na", broker=broker, endpoint=stack.amazon)

    response = orders.get_orders(CreatedAfter="2026-01-01T00:00:00Z", RestrictedResources=["buyerInfo"])

    assert response.payload == {"Orders": []}


def test_the_sp_api_token_client_serves_grantless_operations(broker):
    auth = BrokerAccessTokenClient(broker=broker)

    assert auth.get_grantless_auth("sellingpartnerapi::notifications").access_token.startswith("Atc|")
    with pytest.raises(InvalidRequest):
        auth.get_auth()


# --------------------------------------------------------------------------- Amazon's SDK (amzn-sp-api)


def test_the_official_sdk_calls_sellers_with_a_broker_token(broker, invokes, stack, seller):
    api = SellersApi(broker_api_client(seller, "na", broker=broker, host=stack.amazon))

    # Raw response: the simulator's participation lacks storeName, which the SDK's model requires.
    response = api.get_marketplace_participations(_preload_content=False)

    assert response.status == 200 and json.loads(response.data)["payload"][0]["marketplace"]["id"] == US
    assert invokes.count == 1


def test_the_official_sdk_defaults_to_the_endpoint_the_broker_names(broker, stack, seller):
    assert broker_api_client(seller, "na", broker=broker).configuration.host == stack.amazon


def test_the_official_sdk_reads_orders_with_a_restricted_data_token_from_the_broker(broker, stack, seller):
    api = OrdersV0Api(broker_api_client(seller, "na", broker=broker, restricted_resources=[ORDERS_RESOURCE]))

    response = api.get_orders(marketplace_ids=[US], created_after="2026-01-01T00:00:00Z")

    assert response.payload.orders == []
