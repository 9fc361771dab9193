"""The simulator's client secret over time: expiry notices, rotateApplicationClientSecret, the 7-day overlap,
an expired secret, and the clock control (devstack/amazon/clientsecret.py, applications.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
import requests
from moto import mock_aws

from devstack.amazon.applications import NOT_ENROLLED, ROTATION_PATH, ROTATION_SCOPE
from devstack.amazon.spapi import DENIED_SECRET, RDT_PATH
from devstack.testapp import running_simulator

CLIENT_ID = "amzn1.application-oa2-client.rotating"
CLIENT_SECRET = "amzn1.oa2-cs.v1." + "f" * 64
APP_ID = "amzn1.sp.solution.rotating"
CALLBACK = "https://broker.example/callback"
SELLER = "A3FHEXAMPLEYWS"
DAY = 86400


@pytest.fixture(scope="module")
def running():
    app = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "application_id": APP_ID}
    with running_simulator(app, redirect_uris=[CALLBACK]) as sim:
        yield sim


@pytest.fixture
def sim(running):
    running.reset()
    yield running
    running.reset()


@pytest.fixture
def queue(sim):
    """An SQS queue (moto) registered in the 'Developer Console' for both client-secret notifications."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        sim.register_notification_queue(url)
        yield Queue(sqs, url)


class Queue:
    def __init__(self, sqs, url: str) -> None:
        self.sqs, self.url = sqs, url

    def drain(self) -> list[dict]:
        found = []
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


def token(sim, grant_type: str = "client_credentials", secret: str = CLIENT_SECRET, **fields) -> requests.Response:
    form = {"grant_type": grant_type, "client_id": CLIENT_ID, "client_secret": secret, **fields}
    return requests.post(f"{sim.base_url}/auth/o2/token", data=form, timeout=5)


def rotation_token(sim) -> str:
    return token(sim, scope=ROTATION_SCOPE).json()["access_token"]


def rotate(sim, access_token: str) -> requests.Response:
    return requests.post(f"{sim.base_url}{ROTATION_PATH}", headers={"x-amz-access-token": access_token}, timeout=5)


def when(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_expiry_notices_come_90_60_30_15_7_and_1_days_ahead_in_amazons_envelope(sim, queue):
    schedule = []
    for _day in range(180):
        sim.advance_days(1)
        for notice in queue.drain():
            inner = notice["payload"]["applicationOAuthClientSecretExpiry"]
            schedule.append(round((when(inner["clientSecretExpiryTime"]) - when(notice["eventTime"])) / DAY))

    assert schedule == [90, 60, 30, 15, 7, 1]


def test_a_notice_carries_amazons_fields_and_this_apps_ids(sim, queue):
    sim.advance_days(91)

    (notice,) = queue.drain()

    assert notice["notificationType"] == "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
    assert (notice["notificationVersion"], notice["payloadVersion"]) == ("1.0", "2023-11-30")
    assert notice["payload"]["applicationOAuthClientSecretExpiry"]["clientId"] == CLIENT_ID
    assert notice["payload"]["applicationOAuthClientSecretExpiry"]["clientSecretExpiryReason"] == "PERIODIC_ROTATION"
    assert notice["notificationMetadata"]["applicationId"] == APP_ID
    assert set(notice["notificationMetadata"]) == {"applicationId", "subscriptionId", "publishTime", "notificationId"}


def test_a_long_jump_sends_every_notice_it_passed_once_and_in_order(sim, queue):
    sim.advance_days(179.5)
    sim.advance_days(0.1)

    days = [
        round(
            (when(n["payload"]["applicationOAuthClientSecretExpiry"]["clientSecretExpiryTime"]) - when(n["eventTime"]))
            / DAY
        )
        for n in queue.drain()
    ]

    assert days == [90, 60, 30, 15, 7, 1]


def test_without_a_registered_queue_the_rotation_is_400_invalid_input_and_the_secret_stays(sim):
    answer = rotate(sim, rotation_token(sim))

    assert answer.status_code == 400
    assert answer.json()["errors"][0] == {"code": "InvalidInput", "message": NOT_ENROLLED, "details": ""}
    assert sim.client_secret == CLIENT_SECRET


def test_a_rotation_answers_204_and_the_new_secret_arrives_in_amazons_envelope(sim, queue):
    answer = rotate(sim, rotation_token(sim))

    (notice,) = queue.drain()
    inner = notice["payload"]["applicationOAuthClientNewSecret"]
    assert (answer.status_code, answer.content) == (204, b"")
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert notice["notificationType"] == "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
    assert inner["clientId"] == CLIENT_ID and inner["newClientSecret"] == sim.client_secret != CLIENT_SECRET
    assert inner["newClientSecret"].startswith("amzn1.oa2-cs.v1.")
    assert round((when(inner["oldClientSecretExpiryTime"]) - sim.now()) / DAY) == 7
    assert round((when(inner["newClientSecretExpiryTime"]) - sim.now()) / DAY) == 180
    assert sim.calls()["notifications.sent"] == 1


def test_a_second_rotation_within_a_minute_is_throttled_and_changes_nothing(sim, queue):
    access = rotation_token(sim)
    rotate(sim, access)
    current = sim.client_secret

    answer = rotate(sim, access)

    assert answer.status_code == 429 and answer.json()["errors"][0]["code"] == "QuotaExceeded"
    assert sim.client_secret == current and len(queue.drain()) == 1
    sim.advance_days(61 / DAY)
    assert rotate(sim, access).status_code == 204


@pytest.mark.parametrize("kind", ["seller", "notifications scope"])
def test_the_rotation_needs_a_grantless_token_of_the_rotation_scope(sim, queue, kind):
    if kind == "seller":
        code = sim.issue_code(SELLER, CALLBACK)
        access = token(sim, "authorization_code", code=code, redirect_uri=CALLBACK).json()["access_token"]
    else:
        access = token(sim, scope="sellingpartnerapi::notifications").json()["access_token"]

    answer = rotate(sim, access)

    assert answer.status_code == 403 and sim.client_secret == CLIENT_SECRET


def test_the_replaced_secret_works_for_seven_days_then_lwa_answers_invalid_client(sim, queue):
    rotate(sim, rotation_token(sim))

    within = token(sim, secret=CLIENT_SECRET, scope=ROTATION_SCOPE)
    sim.advance_days(7)
    after = token(sim, secret=CLIENT_SECRET, scope=ROTATION_SCOPE)

    assert within.status_code == 200
    assert (after.status_code, after.json()["error"]) == (401, "invalid_client")
    assert sim.calls()["token.replaced_secret"] == 1 and sim.calls()["token.invalid_client"] == 1
    assert token(sim, secret=sim.client_secret, scope=ROTATION_SCOPE).status_code == 200


def test_an_unrotated_secret_past_180_days_still_gets_tokens_but_sp_api_refuses_the_app(sim):
    code = sim.issue_code(SELLER, CALLBACK)
    refresh = token(sim, "authorization_code", code=code, redirect_uri=CALLBACK).json()["refresh_token"]
    sim.advance_days(180)

    answer = token(sim, "refresh_token", refresh_token=refresh)
    body = {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders"}]}
    refused = requests.post(
        f"{sim.base_url}{RDT_PATH}", json=body, headers={"x-amz-access-token": answer.json()["access_token"]}, timeout=5
    )

    assert answer.status_code == 200  # inferred from reports: LWA keeps answering
    assert refused.status_code == 403 and refused.json()["errors"][0]["details"] == DENIED_SECRET


@pytest.mark.parametrize("body", [{"advance_days": -1}, {"advance_days": 0}, {"advance_days": "7"}, {"days": 7}, {}])
def test_the_clock_moves_only_forward_by_a_number_of_days(sim, body):
    before = requests.get(f"{sim.base_url}/_control/clock", timeout=5).json()["now"]

    answer = requests.post(f"{sim.base_url}/_control/clock", json=body, timeout=5)

    assert answer.status_code == 400
    assert requests.get(f"{sim.base_url}/_control/clock", timeout=5).json()["now"] - before < 5


def test_the_clock_control_moves_amazons_time_and_says_what_it_sent(sim, queue):
    before = sim.now()

    answer = requests.post(f"{sim.base_url}/_control/clock", json={"advance_days": 95}, timeout=5).json()

    assert answer["now"] - before == pytest.approx(95 * DAY, abs=5)
    assert answer["notifications"] == ["APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"]


def test_the_queue_registration_is_a_control_call_and_the_secrets_description_holds_no_secret(sim):
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/notifications"
    registered = requests.post(f"{sim.base_url}/_control/notification-queue", json={"queue_url": url}, timeout=5)
    refused = requests.post(f"{sim.base_url}/_control/notification-queue", json={"queue": url}, timeout=5)
    described = requests.get(f"{sim.base_url}/_control/client-secrets", timeout=5)

    assert (registered.status_code, refused.status_code) == (200, 400)
    assert described.json()["queue_url"] == url and CLIENT_SECRET not in described.text


def test_reset_brings_back_the_first_secret_real_time_and_no_queue(sim, queue):
    rotate(sim, rotation_token(sim))
    sim.advance_days(30)

    sim.reset()

    assert sim.client_secret == CLIENT_SECRET and abs(sim.now() - datetime.now(UTC).timestamp()) < 5
    assert rotate(sim, rotation_token(sim)).status_code == 400


def test_a_notice_with_no_queue_registered_is_lost_and_counted(sim):
    sim.advance_days(91)

    assert sim.calls().get("notifications.undelivered") == 1
    assert sim.calls().get("notifications.sent", 0) == 0
    assert sim.client_secrets.sent == []
