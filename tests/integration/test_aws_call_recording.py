"""The recorder behind the IAM check (devstack/awscalls.py) gives each AWS call to the function whose handler
made it, names resources as the function found them, and keeps no value."""

from __future__ import annotations

import json

from devstack.awscalls import RECORDER, acting_as
from sellertoken import names
from tests.integration.test_sweep import run_to_end


def recorded_during(action) -> list[dict]:
    start = len(RECORDER.calls)
    action()
    return RECORDER.calls[start:]


def test_a_vend_records_its_calls_as_the_vend_functions_with_configured_names(authorize, vend):
    seller = authorize()

    calls = recorded_during(lambda: vend({"selling_partner_id": seller, "region": "na"}))

    assert {c["function"] for c in calls} == {names.function_name("vend")}
    read = [c for c in calls if c["operation"] == "GetSecretValue"]
    assert {"SecretId": f"${{{names.ENV_PREFIX}}}/grants/na/{seller}"} in [c["names"] for c in read]
    cache = [c for c in calls if c["service"] == "dynamodb"]
    assert cache and all(c["names"] == {"TableName": f"${{{names.ENV_TABLE_NAME}}}"} for c in cache)


def test_the_tests_own_aws_calls_are_not_recorded(aws):
    calls = recorded_during(lambda: aws.secret_names() and aws.table_items())

    assert calls == []


def test_a_consent_records_the_key_it_encrypts_the_grant_with_as_the_configured_one(authorize):
    calls = recorded_during(authorize)

    (created,) = [c for c in calls if c["operation"] == "CreateSecret"]
    assert created["function"] == names.function_name("oauth")
    assert created["names"]["KmsKeyId"] == f"${{{names.ENV_KMS_KEY_ID}}}"


def test_calls_from_the_sweeps_worker_threads_are_the_sweeps(authorize, aws):
    from sellertoken.config import get_config
    from sellertoken.sweep import Sweep

    seller = authorize()

    calls = recorded_during(lambda: run_to_end(Sweep(get_config())))

    reads = [c for c in calls if c["operation"] == "GetSecretValue" and seller in c["names"]["SecretId"]]
    assert reads and {c["function"] for c in calls} == {names.function_name("sweep")}


def test_no_record_holds_a_secret_value_or_a_token(authorize, vend, aws):
    seller = authorize()
    token = vend({"selling_partner_id": seller, "region": "na"})["access_token"]
    refresh_token = aws.grant("na", seller)[0]["refresh_token"]

    text = json.dumps(RECORDER.calls)

    assert token not in text and refresh_token not in text and "client_secret" not in text


def test_a_block_acting_as_a_function_ends_with_the_block(aws):
    def read_app_secret() -> None:  # a call the vend function makes too: what is recorded here is checked
        aws.clients["secretsmanager"].get_secret_value(SecretId=names.app_secret_name())

    with acting_as(names.function_name("vend")):
        inside = recorded_during(read_app_secret)

    outside = recorded_during(read_app_secret)

    assert [c["names"] for c in inside] == [{"SecretId": f"${{{names.ENV_PREFIX}}}/app"}] and outside == []
