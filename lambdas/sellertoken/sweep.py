"""The validation sweep: refresh every active grant, flag exactly those LWA calls revoked.

Only `invalid_grant` flags a seller. `invalid_client` stops the run at once and flags nobody;
transient failures (5xx, 429, timeouts) land in a per-grant health record and never become
"revoked". When the Lambda's time runs low the run hands a cursor to a fresh invocation of
itself, so every grant is checked once per run however many there are.
"""

from __future__ import annotations

import contextvars
import functools
import json
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError

from sellertoken import appcreds, aws, deadline, events, grants, names
from sellertoken.config import Config
from sellertoken.errors import (
    AppCredentialsRejected,
    BrokerFault,
    GrantNotFound,
    GrantRevoked,
    UpstreamUnavailable,
)
from sellertoken.observability import count, logger
from sellertoken.vending import Vendor

OUTAGE_THRESHOLD = 25  # this many transient failures in a row, none healthy: stop hammering Amazon
RUN_RECORD_DAYS = 14

HEALTHY, REVOKED, FAILING = "healthy", "revoked", "failing"


@dataclass
class Cursor:
    """Where a run stands; travels to the next invocation when one Lambda's time runs out."""

    run_id: str
    started_at: float
    next_token: str | None = None  # the ListSecrets page being worked on
    offset: int = 0  # grants of that page already done
    invocations: int = 1
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def new(cls, run_id: str | None = None) -> Cursor:
        return cls(run_id=run_id or uuid.uuid4().hex, started_at=time.time())

    @classmethod
    def from_payload(cls, payload: dict) -> Cursor:
        return cls(
            run_id=str(payload["run_id"]),
            started_at=float(payload["started_at"]),
            next_token=payload.get("next_token"),
            offset=int(payload.get("offset", 0)),
            invocations=int(payload.get("invocations", 1)),
            counts={str(k): int(v) for k, v in (payload.get("counts") or {}).items()},
        )


@dataclass(frozen=True)
class Result:
    outcome: str  # "completed", "continued", "app_credentials_rejected", "upstream_unavailable"
    cursor: Cursor


class RateLimiter:
    """Spaces requests to LWA evenly across threads."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Sweep:
    def __init__(self, config: Config, vendor: Vendor | None = None, now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.vendor = vendor or Vendor(config)
        self.now = now
        self.limiter = RateLimiter(config.sweep_rate_per_second)
        self.page_size = 100
        self._lock = threading.Lock()
        self._abort: str | None = None
        self._transient_streak = 0

    def run(self, cursor: Cursor, remaining_seconds: Callable[[], float]) -> Result:
        """Check grants from the cursor on until done, aborted, or out of time (then: "continued")."""
        counts = Counter(cursor.counts)
        margin = self.config.sweep_time_margin_seconds
        started_here = 0  # every invocation checks at least one grant, so a run always ends
        free = threading.Semaphore(self.config.sweep_concurrency)
        appcreds.load(self.config.prefix)  # once, before the workers would each fetch it

        def finished(future) -> None:
            try:
                outcome = future.result()
            except Exception:  # noqa: BLE001 - one grant's surprise must not stop the run
                logger.exception("grant check failed unexpectedly")
                outcome = "error"
            with self._lock:
                counts[outcome] += 1
            free.release()

        out_of_time = False
        with (
            ThreadPoolExecutor(max_workers=self.config.sweep_concurrency) as pool,
            ThreadPoolExecutor(max_workers=1) as lister,
        ):
            # Workers carry this invocation's context, its deadline (deadline.py) included.
            listing = lister.submit(_carried(grants.list_page), self.config.prefix, cursor.next_token, self.page_size)
            while True:
                page, following = listing.result()
                if following:  # list the next page while this one is checked
                    listing = lister.submit(_carried(grants.list_page), self.config.prefix, following, self.page_size)
                for listed in page[cursor.offset :]:
                    free.acquire()  # submit only when a worker is free, so the time check stays current
                    if self._abort or (started_here and remaining_seconds() < margin):
                        free.release()
                        out_of_time = not self._abort
                        break
                    started_here += 1
                    pool.submit(_carried(self._check), listed, cursor.run_id).add_done_callback(finished)
                    cursor.offset += 1
                if out_of_time or self._abort or not following:
                    break
                cursor.next_token, cursor.offset = following, 0
                with self._lock:
                    cursor.counts = dict(counts)
                self._progress(cursor, done=False)
        cursor.counts = dict(counts)  # every submitted check has finished: the pool is closed
        if self._abort:
            return self._finish(cursor, self._abort)
        if out_of_time:
            self._progress(cursor, done=False)
            return Result("continued", cursor)
        return self._finish(cursor, "completed")

    # -- one grant ---------------------------------------------------------------------------------

    def _check(self, listed: grants.Listed, run_id: str) -> str:
        if listed.status != names.STATUS_ACTIVE:
            return "inactive"
        if self._abort:
            return "not_checked"
        try:
            grant = grants.read_listed(self.config.prefix, listed)
            self.limiter.wait()
            # A hanging LWA must leave this invocation the time to record the failure and report: the
            # margin, or half of what is left when an invocation starts with less than the margin.
            keep = min(float(self.config.sweep_time_margin_seconds), deadline.current().remaining() / 2)
            with deadline.leaving(keep):
                self.vendor.refresh_grant(grant, detected_by="sweep")
        except GrantRevoked:
            return REVOKED
        except GrantNotFound:
            return "inactive"  # deleted since it was listed
        except AppCredentialsRejected:
            with self._lock:
                self._abort = "app_credentials_rejected"
            return "not_checked"
        except (UpstreamUnavailable, BrokerFault) as error:  # an outage, or a fault of ours: never a revocation
            self._record_failure(listed, run_id, error)
            self._remind(listed)
            return FAILING
        with self._lock:
            self._transient_streak = 0
        if listed.tags.get(names.TAG_HEALTH) == names.HEALTH_FAILING:
            self._recovered(listed)
        self._remind(listed)
        return HEALTHY

    def _record_failure(self, listed: grants.Listed, run_id: str, error: Exception) -> None:
        with self._lock:
            self._transient_streak += 1
            if self._transient_streak >= OUTAGE_THRESHOLD and not self._abort:
                self._abort = "upstream_unavailable"
        now = grants.iso_utc(self.now())
        try:
            aws.client("dynamodb").update_item(
                TableName=self.config.table_name,
                Key={names.TABLE_PARTITION_KEY: {"S": _health_key(listed)}},
                UpdateExpression="SET last_error = :error, last_attempt = :now, last_run = :run, "
                "first_failed_at = if_not_exists(first_failed_at, :now) ADD failing_runs :one",
                ConditionExpression="attribute_not_exists(last_run) OR last_run <> :run",
                ExpressionAttributeValues={
                    ":error": {"S": f"{type(error).__name__}: {error}"[:300]},
                    ":now": {"S": now},
                    ":run": {"S": run_id},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # already counted in this run
        if listed.tags.get(names.TAG_HEALTH) != names.HEALTH_FAILING:
            grants.set_tags(
                self.config.prefix, listed.region, listed.selling_partner_id, {names.TAG_HEALTH: names.HEALTH_FAILING}
            )
        logger.warning(
            "grant check failed transiently",
            extra={
                "selling_partner_id": listed.selling_partner_id,
                "region": listed.region,
                "error": type(error).__name__,
            },
        )

    def _recovered(self, listed: grants.Listed) -> None:
        record = (
            aws.client("dynamodb")
            .delete_item(
                TableName=self.config.table_name,
                Key={names.TABLE_PARTITION_KEY: {"S": _health_key(listed)}},
                ReturnValues="ALL_OLD",
            )
            .get("Attributes", {})
        )
        grants.remove_tags(self.config.prefix, listed.region, listed.selling_partner_id, [names.TAG_HEALTH])
        detail = {
            "selling_partner_id": listed.selling_partner_id,
            "region": listed.region,
            "failing_runs": int(record.get("failing_runs", {}).get("N", 0)),
            "failing_since": record.get("first_failed_at", {}).get("S"),
        }
        events.publish(self.config.event_bus_name, names.EVENT_GRANT_RECOVERED, detail)

    def _remind(self, listed: grants.Listed) -> None:
        authorized_at = listed.tags.get(names.TAG_AUTHORIZED_AT)
        if not authorized_at:
            return
        deadline = datetime.fromisoformat(authorized_at.replace("Z", "+00:00")) + grants.REAUTHORIZE_AFTER
        days_left = (deadline.timestamp() - self.now()) / 86400
        due = [d for d in names.REAUTH_REMINDER_DAYS if days_left <= d]
        if not due:
            return
        threshold = min(due)
        sent = listed.tags.get(names.TAG_REAUTH_REMINDED)
        if sent is not None and sent.isdigit() and int(sent) <= threshold:
            return  # this reminder (or a later one) already went out
        events.publish(
            self.config.event_bus_name,
            names.EVENT_REAUTHORIZATION_DUE,
            {
                "selling_partner_id": listed.selling_partner_id,
                "region": listed.region,
                "reauthorize_by": grants.iso_utc(deadline.timestamp()),
                "days_left": max(0, math.ceil(days_left)),
                "reminder": threshold,
            },
        )
        grants.set_tags(
            self.config.prefix, listed.region, listed.selling_partner_id, {names.TAG_REAUTH_REMINDED: str(threshold)}
        )

    # -- the run's end -----------------------------------------------------------------------------

    def _finish(self, cursor: Cursor, outcome: str) -> Result:
        counts = Counter(cursor.counts)
        duration = round(self.now() - cursor.started_at, 3)
        summary = {
            "run_id": cursor.run_id,
            "outcome": outcome,
            "checked": counts[HEALTHY] + counts[REVOKED] + counts[FAILING],
            "healthy": counts[HEALTHY],
            "revoked": counts[REVOKED],
            "failing": counts[FAILING],
            "not_checked": counts["not_checked"],
            "errors": counts["error"],
            "inactive": counts["inactive"],
            "invocations": cursor.invocations,
            "duration_seconds": duration,
        }
        if outcome == "app_credentials_rejected":
            count(names.METRIC_APP_CREDENTIALS_REJECTED)
            events.publish(
                self.config.event_bus_name,
                names.EVENT_APP_CREDENTIALS_REJECTED,
                {"detected_by": "sweep", "run_id": cursor.run_id, "reason": "LWA rejected the client id or secret"},
            )
        events.publish(self.config.event_bus_name, names.EVENT_SWEEP_COMPLETED, summary)
        count(names.METRIC_GRANTS_CHECKED, summary["checked"])
        count(names.METRIC_GRANTS_FAILING, summary["failing"])
        if outcome == "completed":
            count(names.METRIC_SWEEP_COMPLETED)
        self._progress(cursor, done=True, summary=summary)
        logger.info("sweep finished", extra=summary)
        return Result(outcome, cursor)

    def _progress(self, cursor: Cursor, *, done: bool, summary: dict | None = None) -> None:
        """A small run record for operators (the CLI's progress bar and `grants list`'s last check)."""
        item = {
            names.TABLE_PARTITION_KEY: {"S": f"sweep#run#{cursor.run_id}"},
            "counts": {"S": _json(cursor.counts)},
            "started_at": {"S": grants.iso_utc(cursor.started_at)},
            "done": {"BOOL": done},
            "updated_at": {"S": grants.iso_utc(self.now())},
            names.TABLE_TTL_ATTRIBUTE: {"N": str(int(self.now() + RUN_RECORD_DAYS * 86400))},
        }
        if summary:
            item["summary"] = {"S": _json(summary)}
        ddb = aws.client("dynamodb")
        ddb.put_item(TableName=self.config.table_name, Item=item)
        if done:
            ddb.put_item(
                TableName=self.config.table_name, Item={**item, names.TABLE_PARTITION_KEY: {"S": "sweep#latest"}}
            )


def _carried(function: Callable) -> Callable:
    """`function`, to run on a worker thread with this thread's context variables (the deadline among them)."""
    return functools.partial(contextvars.copy_context().run, function)


def cursor_payload(cursor: Cursor) -> dict:
    return {"sweep_cursor": asdict(cursor)}


def _health_key(listed: grants.Listed) -> str:
    return f"health#{listed.region}#{listed.selling_partner_id}"


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
