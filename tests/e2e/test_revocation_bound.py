"""On the local stack: a revocation found by the sweep reaches the vend function's memory within the bound.

The stack runs with `SELLERTOKEN_REVOCATION_BOUND_SECONDS=2`, so the test waits 2 s where a deployed stack
would take up to 60 s.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig

from sellertoken import names
from tests.e2e.flows import authorize_over_http

pytestmark = pytest.mark.e2e

BOUND_SECONDS = 2.0  # what the short_bound_stack fixture configures
VEND, SWEEP = names.function_name("vend"), names.function_name("sweep")


def invoke(client, function: str, payload: dict) -> tuple[dict, dict]:
    response = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    return response, json.loads(response["Payload"].read())


def test_vend_revoke_sweep_wait_the_bound_and_the_vend_function_answers_grant_revoked(short_bound_stack):
    stack = short_bound_stack
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.endpoints["region"]
    )
    client = session.client(
        "lambda",
        endpoint_url=stack.endpoints["lambda"],
        config=BotoConfig(connect_timeout=2, read_timeout=40, retries={"max_attempts": 1}),
    )
    seller = authorize_over_http(stack)
    request = {"selling_partner_id": seller, "region": "na"}

    # Given the vend function holds the seller's token in its memory
    _, first = invoke(client, VEND, request)
    _, again = invoke(client, VEND, request)
    assert again["access_token"] == first["access_token"]

    # When the seller removes the app at Amazon and a full sweep flags it (a default one counts the vend's
    # refresh a moment ago as the grant's check)
    revoked = requests.post(f"{stack.amazon}/_control/revoke", json={"selling_partner_id": seller}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    _, swept = invoke(client, SWEEP, {"run_id": f"revocation-{seller}", "full": True})
    assert swept["outcome"] == "completed" and swept["counts"].get("revoked") == 1

    # Then once the bound has passed, the vend function answers GrantRevoked instead of the cached token
    time.sleep(BOUND_SECONDS)
    response, answer = invoke(client, VEND, request)
    assert response.get("FunctionError") == "Unhandled", "the vend function still served a token"
    assert answer["errorType"] == "GrantRevoked"
