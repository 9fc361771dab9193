"""LWA client-secret rotation: Amazon's notices in, `rotateApplicationClientSecret` out, the new secret stored.

- An expiry notice (APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY) for the current secret asks Amazon for a new one,
  as Amazon recommends (reference §4); so does the schedule once the secret is `rotate_after_days` old, in
  case no notice comes. At most one call a minute, one per secret, none while Amazon's new secret is awaited
  (rotationstate.py, conditional writes), so duplicate notices and concurrent invocations rotate once.
- The new-secret notice (APPLICATION_OAUTH_CLIENT_NEW_SECRET) for our client id becomes the current version of
  `{prefix}/app`, which keeps the replaced secret and its expiry for Amazon's 7-day overlap (lwa.py falls
  back to it); `App Credentials Rotated` announces it.
- A refused rotation (no queue registered, throttled) changes nothing, is counted for an alarm, and is tried
  again by the schedule and the next notice. A notice for another client id, a malformed one or one about an
  older secret changes nothing and raises NoticeRejected: the handler reports it and SQS moves it to the
  dead-letter queue once it was received names.NOTIFICATION_MAX_RECEIVES times.
- The schedule also sends `App Credentials Expiring` 30, 7 and 1 days before an expiry that no rotation
  prevented, and `App Credentials Rejected` once the secret is past it.

Time is `clock()`, Amazon's notion of it in effect: the local stack points it at its simulator's clock so that
walking the simulator through 180 days walks the rotation too; the broker's caches keep real time.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from sellertoken import appcreds, applications, deadline, events, names, notices
from sellertoken.config import Config
from sellertoken.errors import AppCredentialsRejected, InvalidClient, InvalidRequest, UpstreamUnavailable, echo
from sellertoken.lwa import LwaClient
from sellertoken.notices import ExpiryNotice, NewSecretNotice, NoticeRejected
from sellertoken.observability import count, logger, metrics
from sellertoken.regions import RegionTable
from sellertoken.rotationstate import REFUSED, REQUESTED, ROTATED, Record, Store
from sellertoken.timestamps import iso_utc, iso_utc_or_none

clock: Callable[[], float] = time.time

DAY = 86400.0
RATE_SECONDS = 60.0  # rotateApplicationClientSecret: 0.0167 requests per second, burst 1 (MODELS)
RETRY_REFUSED_SECONDS = 3600.0  # a refusal other than throttling is tried again after this
AWAIT_NEW_SECRET_SECONDS = 3600.0  # Amazon accepted: its new secret normally comes in seconds; after this, alarm
RECORD_SECONDS = 3.0  # kept from Amazon's calls to record their answer (one DynamoDB write, with a retry)
EXPIRY_TOLERANCE_SECONDS = DAY  # notices about one secret agree to the millisecond; an operator's date, to a day
ROTATION_REGION = "na"  # the operation has no region (use case guide: "Regions N/A"); Amazon's docs call NA
_REQUEST_TOKENS = uuid.UUID("7d0f0c2e-5b7e-4c1a-9a57-2b8d3f6f2a10")  # namespace of PutSecretValue tokens
BY_AMAZON, BY_OPERATOR = "amazon", "operator"
AWAITING = ("requested", "unconfirmed")  # outcomes after which Amazon's new secret may be on its way


@dataclass(frozen=True)
class Expiry:
    """When the current secret expires: Amazon's word (a notice), the operator's, or an estimate from its age."""

    at: float
    known: bool
    issued_at: float  # `at` less 180 days when known, else when the broker stored the secret

    def days_left(self, now: float) -> float:
        return (self.at - now) / DAY

    def age_days(self, now: float) -> float:
        return (now - self.issued_at) / DAY


class Rotator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.table_name)

    # -- notices ------------------------------------------------------------------------------------

    def on_message(self, body: str) -> dict[str, Any]:
        """One SQS message. NoticeRejected: it changes nothing and should go to the dead-letter queue."""
        notice = notices.parse(body)
        stored = appcreds.read(self.config.prefix)
        if notice.client_id != stored.credentials.client_id:
            raise NoticeRejected(notices.FOREIGN, f"the notice is for client id {echo(notice.client_id)}")
        if isinstance(notice, NewSecretNotice):
            return self._on_new_secret(notice, stored)
        return self._on_expiry(notice, stored)

    def _on_expiry(self, notice: ExpiryNotice, stored: appcreds.Stored) -> dict[str, Any]:
        creds = stored.credentials
        fingerprint = creds.fingerprint()
        self.store.adopt(fingerprint)
        record = self.store.read().about(fingerprint)
        known = creds.client_secret_expires_at or record.notice_expires_at
        if known is not None and notice.expires_at < known - EXPIRY_TOLERANCE_SECONDS:
            raise NoticeRejected(notices.OUT_OF_ORDER, "the notice is about a secret older than the current one")
        self.store.note_notice(fingerprint, notice.notification_type, clock(), notice.expires_at)
        logger.info(
            "client secret expiry notice",
            extra={"notification_id": notice.notification_id, "expires_at": iso_utc(notice.expires_at)},
        )
        outcome = self._rotate(stored, trigger="expiry_notice", force=False)
        if outcome["outcome"] not in AWAITING:  # a new secret is on the way: nothing to remind of
            self._follow_up(stored)
        return outcome

    def _on_new_secret(self, notice: NewSecretNotice, stored: appcreds.Stored) -> dict[str, Any]:
        creds = stored.credentials
        self.store.note_notice(creds.fingerprint(), notice.notification_type, clock())
        if notice.new_secret == creds.client_secret:  # a duplicate: make sure the first one was finished
            self._announce(stored.credentials, by=BY_AMAZON, notification_id=notice.notification_id)
            return {"outcome": "unchanged", "reason": "this secret is already the current one"}
        if notice.new_secret == creds.previous_client_secret:
            raise NoticeRejected(notices.OUT_OF_ORDER, "the notice's secret was replaced already")
        known = creds.client_secret_expires_at
        if known is not None and notice.new_expires_at < known - EXPIRY_TOLERANCE_SECONDS:
            raise NoticeRejected(notices.OUT_OF_ORDER, "a newer secret than the notice's is current")
        # The notice's own time, so that a duplicate delivered meanwhile writes the very same value (idempotent).
        at = notice.event_time or notice.old_expires_at - names.CLIENT_SECRET_OVERLAP_DAYS * DAY
        new = creds.replaced_by(
            notice.new_secret, expires_at=notice.new_expires_at, previous_until=notice.old_expires_at, at=at
        )
        return self._install(stored, new, by=BY_AMAZON, notification_id=notice.notification_id)

    # -- the schedule -------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """The scheduled look at the current secret: the safety net's rotation, retries, reminders, alarms."""
        stored = appcreds.read(self.config.prefix)
        fingerprint = stored.credentials.fingerprint()
        self.store.adopt(fingerprint)
        record = self.store.read().about(fingerprint)
        now = clock()
        expiry = self.expiry(stored, record)
        outcome: dict[str, Any] = {"outcome": "nothing_due"}
        if record.state == REQUESTED and record.requested_at is not None:
            if now - record.requested_at >= AWAIT_NEW_SECRET_SECONDS:
                count(names.METRIC_ROTATION_FAILED)
                logger.error(
                    "Amazon's new client secret has not arrived: check the queue's registration in the Developer "
                    "Console and its dead-letter queue",
                    extra={"requested_at": iso_utc(record.requested_at)},
                )
        retry_due = record.state == REFUSED and (record.next_attempt_at or 0) <= now
        if expiry.age_days(now) >= self.config.rotate_after_days or retry_due:
            outcome = self._rotate(stored, trigger="schedule", force=False)
        if outcome["outcome"] not in AWAITING:
            self._follow_up(stored)
        days_left = expiry.days_left(now)
        metrics.add_metric(name=names.METRIC_APP_SECRET_DAYS_LEFT, unit=MetricUnit.Count, value=round(days_left, 2))
        return {**outcome, "days_left": math.floor(days_left), "expiry_known": expiry.known}

    def expiry(self, stored: appcreds.Stored, record: Record) -> Expiry:
        creds = stored.credentials
        known = creds.client_secret_expires_at or record.notice_expires_at
        lifetime = names.CLIENT_SECRET_LIFETIME_DAYS * DAY
        if known is not None:
            return Expiry(known, True, known - lifetime)
        since = creds.rotated_at or stored.created_at
        return Expiry(since + lifetime, False, since)

    def _follow_up(self, stored: appcreds.Stored) -> None:
        """Reminders while an expiry nears unrotated, and the alarm once it passed."""
        creds = stored.credentials
        fingerprint = creds.fingerprint()
        record = self.store.read().about(fingerprint)
        if record.state == REQUESTED:
            return  # Amazon accepted a rotation: its new secret is on the way (the schedule alarms if not)
        now = clock()
        expiry = self.expiry(stored, record)
        days_left = expiry.days_left(now)
        if days_left <= 0:
            # An estimate counts too: Amazon issued the secret no later than the broker stored it, so the real
            # deadline is no later than the estimated one.
            if self.store.report_expired(fingerprint):
                count(names.METRIC_APP_CREDENTIALS_REJECTED)
                events.publish(
                    self.config.event_bus_name,
                    names.EVENT_APP_CREDENTIALS_REJECTED,
                    {
                        "detected_by": "rotation",
                        "client_id": creds.client_id,
                        "reason": f"the client secret expired at {iso_utc(expiry.at)} without a rotation",
                        "expiry_known": expiry.known,
                    },
                )
                logger.error("the client secret has expired", extra={"expired_at": iso_utc(expiry.at)})
            return
        due = [d for d in names.APP_EXPIRING_REMINDER_DAYS if days_left <= d]
        if not due or not self.store.remind(fingerprint, min(due)):
            return
        detail = {
            "client_id": creds.client_id,
            "expires_at": iso_utc(expiry.at),
            "expiry_known": expiry.known,
            "days_left": max(0, math.ceil(days_left)),
            "reminder": min(due),
            # "rotated" says how this secret came: about replacing it, nothing was asked yet
            "rotation": record.state if record.state in (REQUESTED, REFUSED) else "not_requested",
            "last_result": record.last_result,
        }
        events.publish(self.config.event_bus_name, names.EVENT_APP_CREDENTIALS_EXPIRING, detail)
        logger.warning("the client secret expires soon and has not been rotated", extra=detail)

    # -- operators ----------------------------------------------------------------------------------

    def rotate_now(self) -> dict[str, Any]:
        """`sellertoken app rotate`: a rotation now, unless one was asked for within the last minute or is
        awaiting Amazon's new secret."""
        stored = appcreds.read(self.config.prefix)
        self.store.adopt(stored.credentials.fingerprint())
        return self._rotate(stored, trigger="operator", force=True)

    def set_secret(self, secret: str, expires_at: str | None) -> dict[str, Any]:
        """`sellertoken app set-secret`: a secret an operator rotated in the Solution Provider Portal. LWA must
        accept it before it is stored; the replaced one stays usable for Amazon's overlap."""
        if not appcreds.valid_secret(secret):
            raise InvalidRequest("client_secret must be printable ASCII without spaces, at most 512 characters")
        expiry = None
        if expires_at is not None:
            expiry = appcreds.parse_time(expires_at)
            if expiry is None:
                raise InvalidRequest("expires_at must be an ISO 8601 time with its zone, e.g. 2027-01-31T00:00:00Z")
        stored = appcreds.read(self.config.prefix)
        creds = stored.credentials
        if secret == creds.client_secret:
            return {"outcome": "unchanged", "reason": "this secret is already the current one"}
        try:
            LwaClient(self.config.lwa_endpoint, self.config.prefix).authenticates(creds.client_id, secret)
        except InvalidClient:
            raise InvalidRequest(
                "LWA does not accept this client secret for the app's client id: nothing stored"
            ) from None
        now = clock()
        previous_until = now + names.CLIENT_SECRET_OVERLAP_DAYS * DAY
        if creds.client_secret_expires_at is not None:
            previous_until = min(previous_until, creds.client_secret_expires_at)
        new = creds.replaced_by(secret, expires_at=expiry, previous_until=previous_until, at=now)
        return self._install(stored, new, by=BY_OPERATOR, notification_id=None)

    def status(self) -> dict[str, Any]:
        """What `sellertoken app status` shows: never a secret."""
        stored = appcreds.read(self.config.prefix)
        creds = stored.credentials
        record = self.store.read().about(creds.fingerprint())
        now = clock()
        expiry = self.expiry(stored, record)
        return {
            "client_id": creds.client_id,
            "application_id": creds.application_id,
            "secret": {
                "expires_at": iso_utc(expiry.at),
                "expiry": "known" if expiry.known else "estimated from when it was stored (180 days)",
                "days_left": math.floor(expiry.days_left(now)),
                "age_days": math.floor(expiry.age_days(now)),
                "rotated_at": iso_utc_or_none(creds.rotated_at),
                "rotated_by": record.rotated_by if record.state == ROTATED else None,
                "rotate_after_days": self.config.rotate_after_days,
            },
            "previous_secret": {
                "valid": creds.previous_valid(now),
                "until": iso_utc_or_none(creds.previous_client_secret_expires_at)
                if creds.previous_client_secret
                else None,
            },
            "rotation": {
                "state": record.state or "not_requested",
                "last_attempt_at": iso_utc_or_none(record.last_attempt_at),
                "last_result": record.last_result,
                "attempts": record.attempts,
                "next_attempt_at": iso_utc_or_none(record.next_attempt_at) if record.state == REFUSED else None,
            },
            "queue": {
                "url": self.config.notification_queue_url,
                "registration": _registration(record),
                "last_expiry_notice_at": iso_utc_or_none(record.last_expiry_notice_at),
                "last_new_secret_notice_at": iso_utc_or_none(record.last_new_secret_notice_at),
            },
            "unreadable_fields": list(stored.unreadable),
        }

    # -- shared steps -------------------------------------------------------------------------------

    def _rotate(self, stored: appcreds.Stored, *, trigger: str, force: bool) -> dict[str, Any]:
        creds = stored.credentials
        fingerprint = creds.fingerprint()
        now = clock()
        claimed = self.store.claim(
            fingerprint,
            now=now,
            rate_seconds=RATE_SECONDS,
            await_seconds=AWAIT_NEW_SECRET_SECONDS,
            force=force,
            trigger=trigger,
        )
        if not claimed:
            record = self.store.read().about(fingerprint)
            return {"outcome": "skipped", "reason": _why_not(record, now)}
        # Amazon's calls may take what is left but a reserve: Amazon's answer must be recorded, or a hanging
        # Amazon would make every receive ask again.
        with deadline.leaving(min(RECORD_SECONDS, deadline.current().remaining() / 2)):
            try:
                token = LwaClient(self.config.lwa_endpoint, self.config.prefix).grantless(applications.ROTATION_SCOPE)
            except Exception as error:
                result = f"no token: {type(error).__name__}"
                self.store.answered(fingerprint, state=REFUSED, result=result, next_attempt_at=now + RATE_SECONDS)
                raise
            endpoint = RegionTable(self.config.consent_base_url, self.config.spapi_base_url).spapi_endpoint(
                ROTATION_REGION
            )
            try:
                answer: Any = applications.rotate_client_secret(endpoint, token.access_token)
            except (applications.RotationRefused, applications.RotationUnconfirmed, AppCredentialsRejected) as error:
                answer = error
        if isinstance(answer, applications.RotationRefused):
            refused = answer
            wait = RATE_SECONDS if refused.reason == applications.THROTTLED else RETRY_REFUSED_SECONDS
            result = f"{refused.status} {refused.code}"
            self.store.answered(fingerprint, state=REFUSED, result=result, next_attempt_at=now + wait)
            count(names.METRIC_ROTATION_FAILED)
            logger.error("Amazon refused the rotation", extra={"reason": refused.reason, "answer": result})
            return {"outcome": "refused", "reason": refused.reason, "answer": result}
        if isinstance(answer, applications.RotationUnconfirmed):
            self.store.answered(fingerprint, state=REQUESTED, result="unconfirmed")
            logger.warning("Amazon did not confirm the rotation: awaiting a new secret", extra={"why": str(answer)})
            return {"outcome": "unconfirmed", "reason": str(answer)}
        if isinstance(answer, AppCredentialsRejected):
            # Past its deadline: only the Solution Provider Portal can issue a secret now (`app set-secret`).
            later = now + RETRY_REFUSED_SECONDS
            self.store.answered(fingerprint, state=REFUSED, result="secret expired", next_attempt_at=later)
            count(names.METRIC_ROTATION_FAILED)
            logger.error("SP-API refused the rotation: the client secret has expired")
            return {"outcome": "refused", "reason": "secret_expired"}
        self.store.answered(fingerprint, state=REQUESTED, result="accepted")
        logger.info("Amazon accepted the rotation", extra={"trigger": trigger, "request_id": answer.request_id})
        return {"outcome": "requested", "trigger": trigger}

    def _install(
        self, stored: appcreds.Stored, new: appcreds.AppCredentials, *, by: str, notification_id: str | None
    ) -> dict[str, Any]:
        token = str(uuid.uuid5(_REQUEST_TOKENS, new.fingerprint()))
        try:
            version = appcreds.store(self.config.prefix, stored, new, request_token=token)
        except ClientError as exc:
            # Another delivery of this notice stored the secret with another value in between: read again.
            if exc.response["Error"]["Code"] not in ("ResourceExistsException", "InvalidRequestException"):
                raise
            if appcreds.read(self.config.prefix).credentials.client_secret != new.client_secret:
                raise UpstreamUnavailable("the app secret changed while the new client secret was stored") from None
            version = None
        self._announce(new, by=by, notification_id=notification_id)
        return {
            "outcome": "rotated",
            "rotated_by": by,
            "version_id": version,
            "expires_at": iso_utc_or_none(new.client_secret_expires_at),
            "previous_valid_until": iso_utc_or_none(new.previous_client_secret_expires_at),
        }

    def _announce(self, new: appcreds.AppCredentials, *, by: str, notification_id: str | None) -> None:
        """Record the installed secret and announce it, once however often this runs for it."""
        at = new.rotated_at if new.rotated_at is not None else clock()
        if not self.store.installed(new.fingerprint(), at=at, by=by):
            return
        detail = {
            "client_id": new.client_id,
            "rotated_at": iso_utc(at),
            "rotated_by": by,
            "expires_at": iso_utc_or_none(new.client_secret_expires_at),
            "previous_valid_until": iso_utc_or_none(new.previous_client_secret_expires_at),
            "notification_id": notification_id,
        }
        events.publish(self.config.event_bus_name, names.EVENT_APP_CREDENTIALS_ROTATED, detail)
        count(names.METRIC_APP_CREDENTIALS_ROTATED)
        logger.warning("the app's client secret was replaced", extra=detail)


def _why_not(record: Record, now: float) -> str:
    if record.last_attempt_at is not None and now - record.last_attempt_at < RATE_SECONDS:
        return "a rotation was asked for less than a minute ago (Amazon allows about one a minute)"
    if record.state == REQUESTED:
        return "Amazon accepted a rotation; its new secret is on the way"
    if record.state == REFUSED:
        next_try = iso_utc_or_none(record.next_attempt_at)
        return f"Amazon refused the last rotation ({record.last_result}); next try after {next_try}"
    return "another invocation is rotating"


def _registration(record: Record) -> str:
    if record.last_new_secret_notice_at is not None:
        return "registered: a new secret arrived by the queue"
    if record.state == REFUSED and (record.last_result or "").startswith("400 InvalidInput"):
        return (
            "not registered for new secrets: Amazon answered InvalidInput (register the queue in the Developer Console)"
        )
    if record.last_expiry_notice_at is not None:
        return "expiry notices arrive; no new secret has come yet"
    return "unknown: no notice has arrived yet"
