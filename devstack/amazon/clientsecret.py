"""The application's LWA client secret over time, Amazon's clock, and the SQS queue Amazon writes to.

- A secret lives 180 days; Amazon sends APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY 90, 60, 30, 15, 7 and 1 days
  before its end to the queue registered in the Developer Console (DOCS rotating-your-apps-lwa-credentials:
  "notified 90 days before", with reminders; the later days are inferred from the reminder emails Amazon
  describes, and from the issue's brief).
- rotateApplicationClientSecret makes a new secret, valid at once for 180 days, and delivers it as
  APPLICATION_OAUTH_CLIENT_NEW_SECRET; the replaced one keeps working 7 days (SAMPLES auth-lifecycle-management
  QuickStart "Transition Period"), then LWA answers invalid_client (reference §2: "wrong or expired client
  secret").
- A secret past its 180 days without a rotation: LWA still issues tokens, SP-API refuses every call with 403
  "The LWA secret token you provided has expired." (inferred from reports: models#4489, PipedreamHQ/pipedream
  #16843; reference §3).
- Notifications are the message body as is, in Amazon's envelope (SAMPLES lwa-rotation/docs/DEPLOYMENT.md,
  section 4; reference §4). Amazon's documentation promises no retry when the queue refuses: a notice that
  cannot be delivered is lost, and counted.

Time is `SimulatedClock`: the real clock plus whatever the control API added (`POST /_control/clock`), so a
test walks through 180 days in seconds. Every part of the simulator reads it (codes, tokens, secrets).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DAY = 86400.0
LIFETIME_DAYS = 180
OVERLAP_DAYS = 7
EXPIRY_NOTICE_DAYS = (90, 60, 30, 15, 7, 1)
SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
PAYLOAD_VERSION = "2023-11-30"


class SimulatedClock:
    """Real time, moved forward on demand (never back)."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self._offset = 0.0

    def __call__(self) -> float:
        return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0


@dataclass(slots=True)
class _Secret:
    value: str
    issued_at: float
    expires_at: float
    notices_sent: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Replaced:
    value: str
    valid_until: float


def new_client_secret() -> str:
    """Shaped like Amazon's: `amzn1.oa2-cs.v1.` and 64 hex digits (reference, §4 and SAMPLES)."""
    return "amzn1.oa2-cs.v1." + secrets.token_hex(32)


class ClientSecrets:
    """The app's current and replaced client secrets, the registered queue and what was sent to it."""

    def __init__(
        self,
        client_id: str,
        application_id: str,
        initial_secret: str,
        clock: SimulatedClock,
        count: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.client_id = client_id
        self.application_id = application_id
        self.clock = clock
        self._count = count
        self._initial = initial_secret
        self._lock = threading.RLock()
        self._senders: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            now = self.clock()
            # source(secret.lifetime): a client secret lives 180 days (DOCS rotating-your-apps-lwa-credentials)
            self.current = _Secret(self._initial, now, now + LIFETIME_DAYS * DAY)
            self._replaced: list[_Replaced] = []
            self.queue_url: str | None = None
            self._subscription = ""
            self.sent: list[dict[str, Any]] = []  # every notification, as delivered (tests read it)
            self.last_rotation_call: float | None = None
            self._senders.clear()  # a test's moto mock is over: the next queue gets a client of its own

    # ------------------------------------------------------------------ what LWA and SP-API ask

    def accepts_replaced(self, secret: str) -> bool:
        """A replaced secret still inside its 7-day overlap."""
        # source(secret.overlap): the replaced secret keeps working 7 days, then LWA answers invalid_client
        # (SAMPLES auth-lifecycle-management QuickStart "Transition Period"; reference §2)
        with self._lock:
            now = self.clock()
            accepted = any(secrets.compare_digest(r.value, secret) and now < r.valid_until for r in self._replaced)
        if accepted:
            self._count("token.replaced_secret")
        return accepted

    def expired(self) -> bool:
        # inferred(secret.expired-unrotated): past its 180 days unrotated, LWA still issues tokens and SP-API refuses
        # the app (reports: models#4489, PipedreamHQ/pipedream#16843; what LWA does then is not documented)
        with self._lock:
            return self.clock() >= self.current.expires_at

    def describe(self) -> dict[str, Any]:
        """The current secret's dates and the replaced ones' overlaps; never a secret."""
        with self._lock:
            now = self.clock()
            return {
                "now": _iso(now),
                "issued_at": _iso(self.current.issued_at),
                "expires_at": _iso(self.current.expires_at),
                "expired": now >= self.current.expires_at,
                "expiry_notices_sent": sorted(self.current.notices_sent, reverse=True),
                "replaced_valid_until": [_iso(r.valid_until) for r in self._replaced if now < r.valid_until],
                "queue_url": self.queue_url,
            }

    # ------------------------------------------------------------------ the Developer Console and time

    def register_queue(self, queue_url: str | None) -> None:
        """What the operator does in Developer Console → Notification Preferences (Application Client Secret
        Expiry and Application Client New Secret rows): there is no API for it (SAMPLES QuickStart)."""
        with self._lock:
            self.queue_url = queue_url
            self._subscription = str(uuid.uuid4()) if queue_url else ""

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move Amazon's clock; returns the expiry notices that became due (sent if a queue is registered)."""
        with self._lock:
            self.clock.advance(seconds)
            return self._send_due_notices()

    def _send_due_notices(self) -> list[dict[str, Any]]:
        now = self.clock()
        due = []
        # source(secret.expiry-notice): APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY 90 days before the end (DOCS
        # rotating-your-apps-lwa-credentials "notified 90 days before"); inferred(secret.expiry-reminders): the
        # reminders 60, 30, 15, 7 and 1 days ahead (Amazon describes reminders, not their days)
        for days in EXPIRY_NOTICE_DAYS:  # 90 first: a long jump sends every notice it passed, in order
            at = self.current.expires_at - days * DAY
            if at <= now and days not in self.current.notices_sent and now < self.current.expires_at:
                self.current.notices_sent.add(days)
                payload = {
                    "applicationOAuthClientSecretExpiry": {
                        "clientId": self.client_id,
                        "clientSecretExpiryTime": _iso(self.current.expires_at),
                        "clientSecretExpiryReason": "PERIODIC_ROTATION",
                    }
                }
                due.append(self._notify(SECRET_EXPIRY, payload, event_time=at))
        return due

    # ------------------------------------------------------------------ rotateApplicationClientSecret

    def rotate(self, *, notify: bool = True) -> str:
        """A new current secret; the replaced one works 7 more days. Its notice goes to the queue."""
        with self._lock:
            now = self.clock()
            old = self.current
            self._replaced = [r for r in self._replaced if now < r.valid_until]
            self._replaced.append(_Replaced(old.value, now + OVERLAP_DAYS * DAY))
            self.current = _Secret(new_client_secret(), now, now + LIFETIME_DAYS * DAY)
            payload = {
                "applicationOAuthClientNewSecret": {
                    "clientId": self.client_id,
                    "newClientSecret": self.current.value,
                    "newClientSecretExpiryTime": _iso(self.current.expires_at),
                    "oldClientSecretExpiryTime": _iso(now + OVERLAP_DAYS * DAY),
                }
            }
            if notify:
                self._notify(NEW_SECRET, payload, event_time=now)
            return self.current.value

    def take_rotation_slot(self, interval_seconds: float) -> bool:
        """The operation's rate limit: one call per interval (burst 1), in Amazon's time."""
        with self._lock:
            now = self.clock()
            if self.last_rotation_call is not None and now - self.last_rotation_call < interval_seconds:
                return False
            self.last_rotation_call = now
            return True

    # ------------------------------------------------------------------ delivery

    def _notify(self, kind: str, payload: dict[str, Any], *, event_time: float) -> dict[str, Any]:
        # source(notifications.envelope): the message body is Amazon's notification as is: notificationVersion,
        # notificationType, payloadVersion, eventTime, payload, notificationMetadata (SAMPLES lwa-rotation
        # docs/DEPLOYMENT.md section 4; reference §4)
        now = self.clock()
        notification = {
            "notificationVersion": "1.0",
            "notificationType": kind,
            "payloadVersion": PAYLOAD_VERSION,
            "eventTime": _iso(event_time),
            "payload": payload,
            "notificationMetadata": {
                "applicationId": self.application_id,
                "subscriptionId": self._subscription,
                "publishTime": _iso(now),
                "notificationId": str(uuid.uuid4()),
            },
        }
        # inferred(notifications.undelivered): a notice with no queue registered, or refused by it, is lost (Amazon
        # documents no redelivery); it is counted
        if self.queue_url is None:
            self._count("notifications.undelivered")
            return notification
        try:
            self._sender(self.queue_url).send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(notification))
        except Exception as exc:  # noqa: BLE001 - Amazon's delivery failing is a world fact, not a simulator crash
            self._count("notifications.undelivered")
            logger.warning("amazon simulator: %s not delivered (%s)", kind, type(exc).__name__)
            return notification
        self._count("notifications.sent")
        self.sent.append(notification)
        return notification

    def _sender(self, queue_url: str) -> Any:
        """An SQS client for the queue's endpoint: the local stack's moto server, or (in-process tests)
        moto's mock of AWS itself."""
        parts = urlsplit(queue_url)
        endpoint = f"{parts.scheme}://{parts.netloc}" if parts.hostname in ("127.0.0.1", "localhost") else None
        if endpoint not in self._senders:
            import boto3  # only when a queue is registered: the simulator otherwise needs no AWS SDK

            region = parts.hostname.split(".")[1] if endpoint is None and parts.hostname else "us-east-1"
            self._senders[endpoint] = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            ).client("sqs", endpoint_url=endpoint)
        return self._senders[endpoint]


def _iso(moment: float) -> str:
    """Amazon's notification times: ISO 8601 UTC with milliseconds (`2024-03-03T22:06:39.224Z`)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
