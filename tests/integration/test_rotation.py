"""Client-secret rotation on moto and the Amazon simulator: the rotation function fed by its queue, the hourly
check and operators; duplicate, foreign, malformed and out-of-order notices; refused rotations; a secret that
nobody rotated."""

from __future__ import annotations

import io
import json
import logging

import pytest

from sellertoken import names
from sellertoken.errors import AppCredentialsRejected, InvalidRequest
from tests.integration.rotation_world import Rotation

EXPIRY, NEW_SECRET = names.NOTICE_SECRET_EXPIRY, names.NOTICE_NEW_SECRET
ROTATIONS = "applications.rotateApplicationClientSecret"
ORDERS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]
DAY = 86400


def test_an_expiry_notice_rotates_and_the_new_secret_becomes_current_keeping_the_old_for_the_overlap(
    rotation_world: Rotation, aws
):
    old = aws.amazon.client_secret
    aws.amazon.advance_days(91)  # Amazon's first notice: 90 days ahead

    rotation_world.drain()

    stored = rotation_world.app_secret()
    assert aws.amazon.calls()[ROTATIONS] == 1
    assert stored["client_secret"] == aws.amazon.client_secret != old
    assert stored[names.APP_PREVIOUS_SECRET] == old
    (notice,) = rotation_world.sent(NEW_SECRET)
    inner = notice["payload"]["applicationOAuthClientNewSecret"]
    assert stored[names.APP_PREVIOUS_SECRET_EXPIRES_AT] == inner["oldClientSecretExpiryTime"][:19] + "Z"
    assert stored[names.APP_SECRET_EXPIRES_AT] == inner["newClientSecretExpiryTime"][:19] + "Z"
    (rotated,) = rotation_world.events_of(names.EVENT_APP_CREDENTIALS_ROTATED, aws.events())
    assert rotated["rotated_by"] == "amazon" and rotated["client_id"] == aws.amazon.client_id
    assert names.METRIC_APP_CREDENTIALS_ROTATED in rotation_world.metrics


def test_a_vend_container_holding_the_old_secret_keeps_vending_through_the_overlap_and_after_it(
    rotation_world: Rotation, aws, authorize, vend
):
    first, second, third = authorize(), authorize(), authorize()
    vend({"selling_partner_id": first, "region": "na"})  # this container caches the app secret now
    aws.amazon.advance_days(91)
    rotation_world.drain()
    aws.amazon.reset_calls()

    within = vend({"selling_partner_id": second, "region": "na"})  # a refresh at LWA, with the cached secret
    aws.amazon.advance_days(8)  # the old secret's 7 days are over
    after = vend({"selling_partner_id": third, "region": "na"})

    calls = aws.amazon.calls()
    assert within["access_token"] and after["access_token"]
    # Within the overlap the cached old secret still works; after it, LWA refuses it once, the container re-reads
    # the app secret at once and uses the new one: no failed vend, no cold start.
    assert calls["token.replaced_secret"] == 1
    assert (calls["token.invalid_client"], calls["token.refresh_token"]) == (1, 3)
    assert all(aws.grant("na", s)[1][names.TAG_STATUS] == names.STATUS_ACTIVE for s in (first, second, third))


def test_duplicate_notices_rotate_once_store_once_and_announce_once(rotation_world: Rotation, aws):
    aws.amazon.advance_days(91)
    (expiry,) = rotation_world.sent(EXPIRY)
    rotation_world.send(expiry)  # SQS delivers at least once: the same notice again
    rotation_world.drain()
    versions = rotation_world.app_secret_versions()

    (new_secret,) = rotation_world.sent(NEW_SECRET)
    rotation_world.send(new_secret)
    rotation_world.send(expiry)
    rotation_world.drain()

    assert aws.amazon.calls()[ROTATIONS] == 1
    assert rotation_world.app_secret_versions() == versions
    assert rotation_world.app_secret()["client_secret"] == aws.amazon.client_secret
    assert len(rotation_world.events_of(names.EVENT_APP_CREDENTIALS_ROTATED, aws.events())) == 1
    assert rotation_world.dead_letters(expected=0, timeout=0) == []


def test_a_late_duplicate_of_a_new_secret_notice_neither_announces_again_nor_forgets_a_rotation_asked_since(
    rotation_world: Rotation, aws
):
    aws.amazon.advance_days(91)
    rotation_world.drain()
    (first,) = rotation_world.sent(NEW_SECRET)
    aws.amazon.advance_days(1 / 24)
    assert rotation_world.operate("rotate")["outcome"] == "requested"  # its new secret waits in the queue

    # The first notice again, alone in a batch of its own, before the second one is handled
    record = {"messageId": "late", "receiptHandle": "late", "body": json.dumps(first), "attributes": {}}
    answer = rotation_world.invoke({"Records": [{**record, "eventSource": "aws:sqs", "messageAttributes": {}}]})

    assert answer == {"batchItemFailures": []}
    assert rotation_world.operate("status")["rotation"]["state"] == "requested"
    assert len(rotation_world.events_of(names.EVENT_APP_CREDENTIALS_ROTATED, aws.events())) == 1


def test_notices_that_cannot_be_used_change_nothing_are_reported_and_land_in_the_dead_letter_queue(
    rotation_world: Rotation, aws
):
    # Given two rotations, so that the first new-secret notice is out of date
    assert rotation_world.operate("rotate")["outcome"] == "requested"
    rotation_world.drain()
    aws.amazon.advance_days(2 / 24)
    assert rotation_world.operate("rotate")["outcome"] == "requested"
    rotation_world.drain()
    first, _second = rotation_world.sent(NEW_SECRET)
    before = rotation_world.app_secret()
    foreign = json.loads(json.dumps(first))
    foreign["payload"]["applicationOAuthClientNewSecret"]["clientId"] = "amzn1.application-oa2-client.another"
    malformed = {**first, "payload": {"applicationOAuthClientNewSecret": {"clientId": aws.amazon.client_id}}}

    # When an old notice, another app's notice and a malformed one arrive
    for notice in (first, foreign, malformed):
        rotation_world.send(notice)
    dead = rotation_world.dead_letters(expected=3)

    # Then nothing changed, each was reported every time it was received, and all three are dead letters
    assert rotation_world.app_secret() == before
    assert sorted(json.loads(body)["payload"] != first["payload"] for body in dead) == [False, True, True]
    assert rotation_world.metrics.count(names.METRIC_NOTICE_REJECTED) == 3 * names.NOTIFICATION_MAX_RECEIVES


def test_a_rotation_refused_for_want_of_a_registered_queue_keeps_the_working_secret_alarms_and_is_retried(
    rotation_world: Rotation, aws, authorize, vend
):
    # Given Amazon's expiry notices arrive but no queue is registered for the new secret
    seller = authorize()
    aws.amazon.register_notification_queue(None)
    (expiry,) = aws.amazon.advance_days(91)
    rotation_world.send(expiry)

    rotation_world.drain()

    status = rotation_world.operate("status")
    assert status["rotation"]["state"] == "refused" and status["rotation"]["last_result"] == "400 InvalidInput"
    assert status["queue"]["registration"].startswith("not registered")
    assert names.METRIC_ROTATION_FAILED in rotation_world.metrics
    assert rotation_world.app_secret()["client_secret"] == aws.amazon.client_secret
    assert vend({"selling_partner_id": seller, "region": "na"})["access_token"]

    # When the operator registers the queue and the hourly check comes round
    aws.amazon.register_notification_queue(aws.seeded.notification_queue_url)
    aws.amazon.advance_days(61 / (24 * 60))
    assert rotation_world.check()["outcome"] == "requested"
    rotation_world.drain()

    # Then the rotation happened after all
    assert rotation_world.app_secret()["client_secret"] == aws.amazon.client_secret
    assert rotation_world.operate("status")["rotation"]["state"] == "rotated"


def test_a_throttled_rotation_is_tried_again_a_minute_later_and_not_before(rotation_world: Rotation, aws):
    aws.amazon.set_fault("applications", status=429, count=1)
    old = aws.amazon.client_secret

    refused = rotation_world.operate("rotate")
    too_soon = rotation_world.check()
    aws.amazon.advance_days(61 / DAY)
    retried = rotation_world.check()
    rotation_world.drain()

    assert (refused["outcome"], refused["reason"]) == ("refused", "throttled")
    assert too_soon["outcome"] == "nothing_due"
    assert retried["outcome"] == "requested"
    assert rotation_world.app_secret()[names.APP_PREVIOUS_SECRET] == old
    assert aws.amazon.calls()[ROTATIONS] == 2


def test_the_age_safety_net_rotates_a_secret_no_notice_warned_about(rotation_world: Rotation, aws):
    aws.amazon.register_notification_queue(None)  # Amazon's expiry notices are lost
    aws.amazon.advance_days(150)
    aws.amazon.register_notification_queue(aws.seeded.notification_queue_url)

    outcome = rotation_world.check()
    rotation_world.drain()

    assert outcome["outcome"] == "requested" and not outcome["expiry_known"]
    assert rotation_world.app_secret()["client_secret"] == aws.amazon.client_secret
    assert rotation_world.app_secret()[names.APP_SECRET_EXPIRES_AT]


def test_a_secret_nobody_rotated_warns_30_7_and_1_days_ahead_then_is_rejected_and_flags_no_seller(
    rotation_world: Rotation, aws, authorize, vend
):
    seller = authorize()
    aws.amazon.register_notification_queue(None)  # nothing can be rotated: Amazon answers InvalidInput

    for _day in range(182):
        aws.amazon.advance_days(1)
        rotation_world.check()

    events = aws.events()
    reminders = rotation_world.events_of(names.EVENT_APP_CREDENTIALS_EXPIRING, events)
    assert [r["reminder"] for r in reminders] == [30, 7, 1]
    assert all(r["rotation"] == "refused" and r["last_result"] == "400 InvalidInput" for r in reminders)
    (rejected,) = rotation_world.events_of(names.EVENT_APP_CREDENTIALS_REJECTED, events)
    assert rejected["detected_by"] == "rotation"
    assert names.METRIC_APP_CREDENTIALS_REJECTED in rotation_world.metrics
    with pytest.raises(AppCredentialsRejected):  # SP-API refuses the app (inferred shape)
        vend({"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS})
    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_ACTIVE
    assert rotation_world.events_of(names.EVENT_GRANT_REVOKED, aws.events()) == []


def test_an_operator_stores_a_secret_rotated_in_the_portal_only_once_lwa_accepts_it(rotation_world: Rotation, aws):
    old = aws.amazon.client_secret
    new = aws.amazon.rotate_in_portal()

    with pytest.raises(InvalidRequest, match="LWA does not accept"):
        rotation_world.operate("set_secret", client_secret="amzn1.oa2-cs.v1." + "0" * 64)
    unchanged = rotation_world.app_secret()
    stored = rotation_world.operate("set_secret", client_secret=new, expires_at="2027-12-01T00:00:00Z")

    assert unchanged["client_secret"] == old
    assert stored["outcome"] == "rotated" and stored["rotated_by"] == "operator"
    assert rotation_world.app_secret()["client_secret"] == new
    assert rotation_world.app_secret()[names.APP_PREVIOUS_SECRET] == old
    assert rotation_world.operate("set_secret", client_secret=new)["outcome"] == "unchanged"


def test_an_operator_rotation_right_after_another_is_refused_with_the_reason(rotation_world: Rotation, aws):
    rotation_world.operate("rotate")

    again = rotation_world.operate("rotate")

    assert again["outcome"] == "skipped" and "less than a minute ago" in again["reason"]
    assert aws.amazon.calls()[ROTATIONS] == 1


@pytest.mark.parametrize(
    "event, field",
    [
        ({"operation": "delete"}, "operation"),
        ({"operation": "status", "verbose": True}, "unknown field: verbose"),
        ({"operation": "set_secret"}, "client_secret"),
        ({"operation": "set_secret", "client_secret": "a b"}, "client_secret"),
        ({"operation": "set_secret", "client_secret": "x", "expires_at": "soon"}, "expires_at"),
        ([], "JSON object"),
    ],
)
def test_a_malformed_operator_request_is_invalid_request_naming_the_field(rotation_world: Rotation, event, field):
    with pytest.raises(InvalidRequest, match=field):
        rotation_world.invoke(event)


def test_no_secret_reaches_a_status_an_answer_an_event_or_a_log_line(rotation_world: Rotation, aws, caplog):
    captured = io.StringIO()
    ours = logging.getLogger(names.SERVICE_NAME)  # Powertools' logger, which does not propagate: its JSON, extras too
    handler = logging.StreamHandler(captured)
    handler.setFormatter(ours.handlers[0].formatter)
    ours.addHandler(handler)
    caplog.set_level(logging.INFO)  # everything else (botocore, the batch utility, …) at production's level
    old = aws.amazon.client_secret
    try:
        aws.amazon.advance_days(91)
        rotation_world.drain()
        new = aws.amazon.client_secret
        aws.amazon.advance_days(2 / 24)
        (notice,) = rotation_world.sent(NEW_SECRET)
        rotation_world.send(notice | {"notificationType": "SOMETHING_ELSE"})
        rotation_world.drain()
        answers = [rotation_world.operate("status"), rotation_world.operate("rotate")]
        rotation_world.drain()
    finally:
        ours.removeHandler(handler)

    shown = (
        json.dumps([answers, aws.events()]) + captured.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    )
    assert "client secret expiry notice" in shown and "SOMETHING_ELSE" in shown  # the capture saw both paths
    for secret in (old, new, aws.amazon.client_secret):
        assert secret not in shown
