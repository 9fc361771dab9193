"""Amazon's two client-secret notifications, as the rotation function receives them from its SQS queue.

The message body is the notification itself (SAMPLES lwa-rotation/docs/DEPLOYMENT.md, section 4, and
auth-lifecycle-management/lambda/credentialRotation.js; reference §4):

    {"notificationVersion": "1.0", "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
     "payloadVersion": "2023-11-30", "eventTime": "…",
     "payload": {"applicationOAuthClientSecretExpiry": {"clientId": "…", "clientSecretExpiryTime": "…",
                                                        "clientSecretExpiryReason": "PERIODIC_ROTATION"}},
     "notificationMetadata": {"applicationId": "…", "subscriptionId": "…", "publishTime": "…",
                              "notificationId": "…"}}

and APPLICATION_OAUTH_CLIENT_NEW_SECRET with `payload.applicationOAuthClientNewSecret`: `clientId`,
`newClientSecret`, `newClientSecretExpiryTime`, `oldClientSecretExpiryTime`.

Parsing is strict about what the broker acts on and lenient about the rest (Amazon may add fields).
Anything else is NoticeRejected with a reason; its message never repeats a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sellertoken import names
from sellertoken.appcreds import parse_time, valid_secret
from sellertoken.errors import SellerTokenError, echo

MAX_BODY_BYTES = 64 * 1024  # Amazon's notices are well under 2 KB
MALFORMED = "malformed"
FOREIGN = "foreign"  # another application's client id
OUT_OF_ORDER = "out_of_order"  # about a secret older than the one the broker holds
_PAYLOAD_KEYS = {
    names.NOTICE_SECRET_EXPIRY: "applicationOAuthClientSecretExpiry",
    names.NOTICE_NEW_SECRET: "applicationOAuthClientNewSecret",
}


class NoticeRejected(SellerTokenError):
    """A notification that changes nothing: it is reported, and SQS moves it to the dead-letter queue."""

    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(f"{reason}: {problem}")
        self.reason = reason


@dataclass(frozen=True)
class Notice:
    notification_type: str
    notification_id: str | None
    client_id: str
    event_time: float | None  # when Amazon says it happened (eventTime, else publishTime)


@dataclass(frozen=True)
class ExpiryNotice(Notice):
    expires_at: float
    reason: str | None


@dataclass(frozen=True, repr=False)
class NewSecretNotice(Notice):
    new_secret: str
    new_expires_at: float
    old_expires_at: float

    def __repr__(self) -> str:  # never print the secret
        return f"NewSecretNotice(notification_id={self.notification_id!r}, client_id={self.client_id!r})"


def parse(body: str) -> ExpiryNotice | NewSecretNotice:
    if not isinstance(body, str) or len(body.encode()) > MAX_BODY_BYTES:
        raise NoticeRejected(MALFORMED, "the message body is missing or too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise NoticeRejected(MALFORMED, "the message body is not JSON") from None
    if not isinstance(document, dict):
        raise NoticeRejected(MALFORMED, "the message body is not a JSON object")
    kind = document.get("notificationType")
    if kind not in _PAYLOAD_KEYS:
        shown = echo(kind) if isinstance(kind, str) else type(kind).__name__
        raise NoticeRejected(MALFORMED, f"notificationType {shown} is not one this queue is for")
    payload = document.get("payload")
    inner = payload.get(_PAYLOAD_KEYS[kind]) if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        raise NoticeRejected(MALFORMED, f"payload.{_PAYLOAD_KEYS[kind]} is missing")
    client_id = inner.get("clientId")
    if not isinstance(client_id, str) or not client_id or not client_id.isprintable():
        raise NoticeRejected(MALFORMED, "clientId is missing")
    metadata = document.get("notificationMetadata") if isinstance(document.get("notificationMetadata"), dict) else {}
    notification_id = metadata.get("notificationId")
    common = {
        "notification_type": kind,
        "notification_id": echo(notification_id) if isinstance(notification_id, str) else None,
        "client_id": client_id,
        "event_time": parse_time(document.get("eventTime")) or parse_time(metadata.get("publishTime")),
    }
    if kind == names.NOTICE_SECRET_EXPIRY:
        return ExpiryNotice(
            **common,
            expires_at=_time(inner, "clientSecretExpiryTime"),
            reason=echo(inner["clientSecretExpiryReason"])
            if isinstance(inner.get("clientSecretExpiryReason"), str)
            else None,
        )
    secret = inner.get("newClientSecret")
    if not valid_secret(secret):
        raise NoticeRejected(MALFORMED, "newClientSecret is missing or not a client secret")
    new_expires_at = _time(inner, "newClientSecretExpiryTime")
    old_expires_at = _time(inner, "oldClientSecretExpiryTime")
    if new_expires_at <= old_expires_at:
        raise NoticeRejected(MALFORMED, "the new secret expires before the old one")
    return NewSecretNotice(**common, new_secret=secret, new_expires_at=new_expires_at, old_expires_at=old_expires_at)


def _time(inner: dict, field: str) -> float:
    moment = parse_time(inner.get(field))
    if moment is None:
        raise NoticeRejected(MALFORMED, f"{field} is missing or not an ISO 8601 time")
    return moment
