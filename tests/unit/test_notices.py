"""Amazon's two client-secret notifications: the documented examples parse, anything else is rejected by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sellertoken import names, notices
from sellertoken.notices import ExpiryNotice, NewSecretNotice, NoticeRejected

SECRET = "amzn1.oa2-cs.v1.8b6" + "a" * 40
# The two examples of SAMPLES use-cases/lwa-rotation/docs/DEPLOYMENT.md, section 4 (reference §4).
EXPIRY = {
    "notificationVersion": "1.0",
    "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
    "payloadVersion": "2023-11-30",
    "eventTime": "2024-01-10T02:15:10.045Z",
    "payload": {
        "applicationOAuthClientSecretExpiry": {
            "clientId": "amzn1.application-oa2-client.xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "clientSecretExpiryTime": "2024-03-03T22:06:39.224Z",
            "clientSecretExpiryReason": "PERIODIC_ROTATION",
        }
    },
    "notificationMetadata": {
        "applicationId": "amzn1.sp.solution.xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "subscriptionId": "a275c00d-260c-4xxxxxxxxxxxf25",
        "publishTime": "2024-01-10T02:15:14.269Z",
        "notificationId": "e7e27216-4970-477a-882c-e4xxxxxxxxxxxxxdc",
    },
}
NEW_SECRET = {
    "notificationVersion": "1.0",
    "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
    "payloadVersion": "2023-11-30",
    "eventTime": "2024-01-10T22:09:17.456Z",
    "payload": {
        "applicationOAuthClientNewSecret": {
            "clientId": "amzn1.application-oa2-client.6XXXXXXXXXXXXXXXXXXXXXXXXX",
            "newClientSecret": SECRET,
            "newClientSecretExpiryTime": "2024-07-08T22:09:17.198Z",
            "oldClientSecretExpiryTime": "2024-01-17T22:09:17.180Z",
        }
    },
    "notificationMetadata": {
        "applicationId": "amzn1.sp.solution.6XXXXXXXXXXXXXXXXXXXXXXXXX",
        "subscriptionId": "8594dc0e-78dc-4b05-83a4-a6XXXXXXXXXXXXXX",
        "publishTime": "2024-01-10T22:09:18.706Z",
        "notificationId": "b0805eb9-78f7-49bb-ac0e-XXXXXXXXXXX",
    },
}


def with_inner(document: dict, **fields) -> str:
    changed = json.loads(json.dumps(document))
    inner = next(iter(changed["payload"].values()))
    for key, value in fields.items():
        if value is None:
            inner.pop(key, None)
        else:
            inner[key] = value
    return json.dumps(changed)


def test_amazons_expiry_example_parses():
    notice = notices.parse(json.dumps(EXPIRY))

    assert isinstance(notice, ExpiryNotice)
    assert notice.client_id == EXPIRY["payload"]["applicationOAuthClientSecretExpiry"]["clientId"]
    assert notice.expires_at == pytest.approx(datetime(2024, 3, 3, 22, 6, 39, 224000, tzinfo=UTC).timestamp())
    assert (notice.reason, notice.notification_id) == ("PERIODIC_ROTATION", "e7e27216-4970-477a-882c-e4xxxxxxxxxxxxxdc")


def test_amazons_new_secret_example_parses_and_its_repr_hides_the_secret():
    notice = notices.parse(json.dumps(NEW_SECRET))

    assert isinstance(notice, NewSecretNotice) and notice.new_secret == SECRET
    assert notice.old_expires_at < notice.new_expires_at
    assert SECRET not in repr(notice)


def test_an_extra_field_amazon_may_add_is_ignored():
    document = {**EXPIRY, "someNewField": {"x": 1}}

    assert isinstance(notices.parse(json.dumps(document)), ExpiryNotice)


@pytest.mark.parametrize(
    "body, problem",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**EXPIRY, "notificationType": "ANY_OFFER_CHANGED"}), "ANY_OFFER_CHANGED"),
        (json.dumps({**EXPIRY, "payload": {}}), "applicationOAuthClientSecretExpiry is missing"),
        (with_inner(EXPIRY, clientId=None), "clientId is missing"),
        (with_inner(EXPIRY, clientSecretExpiryTime="soon"), "clientSecretExpiryTime"),
        (with_inner(NEW_SECRET, newClientSecret="has spaces in it"), "newClientSecret"),
        (with_inner(NEW_SECRET, newClientSecret=7), "newClientSecret"),
        (with_inner(NEW_SECRET, oldClientSecretExpiryTime=None), "oldClientSecretExpiryTime"),
        (with_inner(NEW_SECRET, newClientSecretExpiryTime="2024-01-01T00:00:00Z"), "expires before the old one"),
        ("x" * (notices.MAX_BODY_BYTES + 1), "too large"),
    ],
)
def test_a_malformed_notification_is_rejected_naming_the_problem(body, problem):
    with pytest.raises(NoticeRejected) as caught:
        notices.parse(body)

    assert caught.value.reason == notices.MALFORMED
    assert problem in str(caught.value)


def test_a_rejection_never_repeats_the_secret_it_carried():
    body = with_inner(NEW_SECRET, newClientSecretExpiryTime="2024-01-01T00:00:00Z")

    with pytest.raises(NoticeRejected) as caught:
        notices.parse(body)

    assert SECRET not in str(caught.value)


def test_the_notification_types_are_the_ones_the_broker_names():
    assert (EXPIRY["notificationType"], NEW_SECRET["notificationType"]) == (
        names.NOTICE_SECRET_EXPIRY,
        names.NOTICE_NEW_SECRET,
    )
