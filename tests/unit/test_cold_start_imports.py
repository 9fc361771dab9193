"""A cold start loads what every invocation needs and nothing more: the HTTP stack for Amazon (requests) loads
with the first call to LWA or SP-API, and the X-Ray SDK only where a function traces (the consent function).
Each check imports the handler in a fresh interpreter, configured as the deployed function is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sellertoken import names

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
CONFIGURED = {
    names.ENV_TABLE_NAME: "sellertoken",
    names.ENV_KMS_KEY_ID: "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    names.ENV_EVENT_BUS_NAME: "sellertoken",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LAMBDA_TASK_ROOT": str(LAMBDAS),  # Powertools' Tracer is on, as in Lambda
}
LOADED_LATER = ("requests", "aws_xray_sdk")


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(LAMBDAS), **CONFIGURED}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("handler", ["handlers.vend", "handlers.sweep"])
def test_importing_the_handler_leaves_the_http_stack_and_xray_for_later(handler):
    loaded = _modules_after(f"import {handler}")

    assert handler in loaded and "boto3" in loaded  # every invocation reads DynamoDB
    assert not [m for m in loaded if m.split(".")[0] in LOADED_LATER]


def test_the_http_stack_loads_with_the_first_call_to_amazon():
    loaded = _modules_after("from sellertoken import httpclient\nhttpclient.session(retry_reads=True)")

    assert "requests" in loaded
