"""Should LWA ever answer a refresh with a new refresh token, the broker keeps it, whichever function
refreshed: a vend or the sweep (the simulator's rotation switch stands for that day)."""

from __future__ import annotations

import importlib

import pytest

from devstack.lambda_context import LocalLambdaContext, invoke
from sellertoken import names


def stored_refresh_token(aws, seller: str) -> str:
    return aws.grant("na", seller)[0]["refresh_token"]


def versions(aws, seller: str) -> int:
    listed = aws.clients["secretsmanager"].list_secret_version_ids(SecretId=names.grant_secret_name("na", seller))
    return len(listed["Versions"])


@pytest.fixture
def rotating(aws):
    aws.amazon.set_refresh_token_rotation(True)
    yield aws
    aws.amazon.set_refresh_token_rotation(False)


def test_a_vend_keeps_the_refresh_token_lwa_rotated(authorize, vend, rotating):
    seller = authorize()
    before = stored_refresh_token(rotating, seller)

    vend({"selling_partner_id": seller, "region": "na"})

    after = stored_refresh_token(rotating, seller)
    assert after != before and after == rotating.amazon.refresh_tokens(seller)[-1]
    assert versions(rotating, seller) == 2


def test_the_sweep_keeps_the_refresh_token_lwa_rotated(authorize, rotating):
    seller = authorize()
    before = stored_refresh_token(rotating, seller)
    sweep = importlib.import_module("handlers.sweep").handler

    result = invoke(sweep, {"run_id": "rotation"}, LocalLambdaContext(names.function_name("sweep")))

    assert result["outcome"] == "completed" and result["counts"] == {"healthy": 1}
    after = stored_refresh_token(rotating, seller)
    assert after != before and after == rotating.amazon.refresh_tokens(seller)[-1]
