"""The local stack records each function's AWS calls for the IAM check when the environment asks it to
(the test session does, tests/iam/plugin.py), and only the functions' own calls."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from devstack.awscalls import ENV_RECORD_DIR
from sellertoken import names
from sellertoken_client import TokenBroker
from tests.e2e.flows import authorize_over_http

pytestmark = pytest.mark.e2e


def recorded(stack) -> list[dict]:
    path = Path(os.environ[ENV_RECORD_DIR]) / f"aws-calls-{stack.process.pid}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_consent_and_a_vend_on_the_local_stack_are_recorded_per_function_without_values(stack):
    seller = authorize_over_http(stack)
    token = TokenBroker.for_local_stack(stack.endpoints).get_access_token(seller, "na")

    calls = [c for c in recorded(stack) if seller in json.dumps(c)]

    functions = {(c["function"], c["operation"]) for c in calls}
    assert (names.function_name("oauth"), "CreateSecret") in functions
    assert (names.function_name("vend"), "GetSecretValue") in functions
    refresh_tokens = requests.get(
        f"{stack.amazon}/_control/refresh-tokens", params={"selling_partner_id": seller}, timeout=10
    ).json()["refresh_tokens"]
    text = json.dumps(recorded(stack))
    assert refresh_tokens and token.access_token not in text and all(t not in text for t in refresh_tokens)


def test_the_stacks_own_seeding_is_not_recorded(stack):
    assert not [c for c in recorded(stack) if c["operation"] in ("CreateTable", "CreateKey", "PutRule")]
    assert all(c["function"] in {names.function_name(k) for k in names.FUNCTION_HANDLERS} for c in recorded(stack))
