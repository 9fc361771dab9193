"""The validation sweep: check every active grant, flag exactly those LWA calls revoked.

Only `invalid_grant` flags a seller. `invalid_client` stops the run at once and flags nobody, and so does
`unauthorized_client` once LWA refuses the application's own grantless call too (else it is that grant's:
health `unauthorized`, and the run goes on);
transient failures (5xx, 429, timeouts) land in a per-grant health record and never become
"revoked". When the Lambda's time runs low the run hands a cursor to a fresh invocation of
itself, so every grant is checked once per run however many there are.

A successful refresh proves the grant was valid at that moment, and vend refreshes the grants in use
every hour: a grant refreshed (by vend or a sweep) since the run's `proven_since` counts as checked
("proven": one read of its token item, no write, no LWA call; tokencache.py), and only the others are
refreshed. A scheduled run relies on refreshes within the proof window W before it started (default:
one sweep period P); an operator's run also relies on what the latest complete run relied on (if it
started within a period), so a sweep started right after a complete one makes no LWA call; `full`
refreshes every grant. The price is detection time: a seller who revokes right after a refresh and is
not vended again is flagged by the first scheduled run that starts after the proof ages out, at most
W + P (+ the time that run takes to reach the grant) after the revocation, where refreshing every
grant every run takes P (+ that time). A grant vended after its token expires is flagged by vend itself.
"""

from __future__ import annotations

import contextvars
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from sellertoken import appcreds, deadline, events, grants, names, timestamps
from sellertoken.budget import LwaBudgetExhausted
from sellertoken.config import Config
from sellertoken.errors import (
    AppCredentialsRejected,
    BrokerFault,
    GrantNotFound,
    GrantRevoked,
    GrantUnauthorized,
    InvalidRequest,
    UpstreamUnavailable,
)
from sellertoken.observability import count, logger
from sellertoken.table import RUN_RECORD_DAYS, GrantHealth, SweepRun, SweepRuns
from sellertoken.tokencache import SharedCacheUnavailable, access_key
from sellertoken.vending import Vendor

T = TypeVar("T")

OUTAGE_THRESHOLD = 25  # this many transient failures in a row, none healthy: stop hammering Amazon
PAGE_SIZE = 100  # grants per ListSecrets page (its maximum MaxResults)

HEALTHY, PROVEN, REVOKED, FAILING = names.SWEEP_CHECKED
OUTCOMES = frozenset({*names.SWEEP_CHECKED, "inactive", "not_checked", "error"})
# What started a run, which decides the refreshes it relies on (see the module's docstring).
SCHEDULED, OPERATOR, FULL = "scheduled", "operator", "full"
KINDS = (SCHEDULED, OPERATOR, FULL)

# A run id names the run record's key (table.sweep_run_key), logs and events: the CLI's `cli-…`, an
# EventBridge event id (a UUID) or a uuid4 hex. No `#`, so that it can never name another record.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_NEXT_TOKEN = 4096  # ListSecrets' NextToken is at most 4096 characters
MAX_COUNT = 10**9  # far above any fleet; keeps an int from JSON inside what DynamoDB and metrics hold
CLOCK_SKEW_SECONDS = 300
CURSOR_FIELDS = ("run_id", "started_at", "next_token", "offset", "invocations", "counts")
# Added later: a continuation sent before they existed lacks them and goes on refreshing every grant.
OPTIONAL_CURSOR_FIELDS = ("kind", "proven_since")
MAX_PROOF_AGE = 172800 + 86400  # seconds: the longest proof window plus the longest period (config.py)


@dataclass
class Cursor:
    """Where a run stands; travels to the next invocation when one Lambda's time runs out."""

    run_id: str
    started_at: float
    next_token: str | None = None  # the ListSecrets page being worked on
    offset: int = 0  # grants of that page already done
    invocations: int = 1
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = SCHEDULED
    # Refreshes that started at or after this moment (epoch seconds) count as checks; None: none do (a full
    # run), or not decided yet (the run's first invocation decides).
    proven_since: float | None = None

    @classmethod
    def new(cls, run_id: str | None = None, kind: str = SCHEDULED) -> Cursor:
        return cls(run_id=run_id or uuid.uuid4().hex, started_at=time.time(), kind=kind)

    @classmethod
    def from_payload(cls, payload: object, now: float | None = None) -> Cursor:
        """The cursor a continuation carries, checked field by field: anything that may invoke the
        function can send one, and a bad one must never make a run skip or repeat grants, nor rely on
        refreshes older than any run may."""
        where = "sweep_cursor"
        if not isinstance(payload, dict):
            raise InvalidRequest(f"{where} must be a JSON object")
        unknown = sorted(set(payload) - set(CURSOR_FIELDS) - set(OPTIONAL_CURSOR_FIELDS), key=str)
        if unknown:
            raise InvalidRequest(f"unknown field: {where}.{field_name(unknown[0])}")
        missing = [f for f in CURSOR_FIELDS if f not in payload]
        if missing:  # the sweep always sends every field (cursor_payload)
            raise InvalidRequest(f"{where}.{missing[0]} is missing")
        now = time.time() if now is None else now
        started_at = payload["started_at"]
        if (
            isinstance(started_at, bool)
            or not isinstance(started_at, int | float)
            or not now - RUN_RECORD_DAYS * 86400 <= started_at <= now + CLOCK_SKEW_SECONDS
        ):
            raise InvalidRequest(
                f"{where}.started_at must be the run's start (epoch seconds, at most {RUN_RECORD_DAYS} days ago)"
            )
        next_token = payload["next_token"]
        if next_token is not None and (
            not isinstance(next_token, str)
            or not 0 < len(next_token) <= MAX_NEXT_TOKEN
            or not (next_token.isascii() and next_token.isprintable())
        ):
            raise InvalidRequest(f"{where}.next_token must be null or a ListSecrets NextToken")
        counts = payload["counts"]
        if not isinstance(counts, dict) or not all(
            k in OUTCOMES and _count(v, 0, MAX_COUNT) for k, v in counts.items()
        ):
            raise InvalidRequest(f"{where}.counts must map {', '.join(sorted(OUTCOMES))} to counts")
        kind = payload.get("kind", FULL)
        if kind not in KINDS:
            raise InvalidRequest(f"{where}.kind must be one of {', '.join(KINDS)}")
        proven_since = payload.get("proven_since")
        if proven_since is not None and (
            isinstance(proven_since, bool)
            or not isinstance(proven_since, int | float)
            or not started_at - MAX_PROOF_AGE <= proven_since <= started_at + CLOCK_SKEW_SECONDS
            or kind == FULL
        ):
            raise InvalidRequest(
                f"{where}.proven_since must be null or a moment (epoch seconds) before the run started, "
                "and null for a full run"
            )
        return cls(
            run_id=checked_run_id(payload["run_id"], f"{where}.run_id"),
            started_at=float(started_at),
            next_token=next_token,
            offset=_bounded(payload["offset"], 0, PAGE_SIZE, f"{where}.offset"),
            invocations=_bounded(payload["invocations"], 1, MAX_COUNT, f"{where}.invocations"),
            counts=dict(counts),
            kind=kind,
            proven_since=None if proven_since is None else float(proven_since),
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
        self.page_size = PAGE_SIZE
        self._lock = threading.Lock()
        self._abort: str | None = None
        self._transient_streak = 0
        self._proven_since: float | None = None
        self.health = GrantHealth(config.table_name)
        self.runs = SweepRuns(config.table_name)

    def run(self, cursor: Cursor, remaining_seconds: Callable[[], float]) -> Result:
        """Check grants from the cursor on until done, aborted, or out of time (then: "continued")."""
        if cursor.invocations == 1 and cursor.proven_since is None and cursor.kind != FULL:
            cursor.proven_since = self._proof_threshold(cursor.kind)
        self._proven_since = cursor.proven_since
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
            listing = _submit(lister, grants.list_page, self.config.prefix, cursor.next_token, self.page_size)
            while True:
                page, following = listing.result()
                if following:  # list the next page while this one is checked
                    listing = _submit(lister, grants.list_page, self.config.prefix, following, self.page_size)
                for listed in page[cursor.offset :]:
                    free.acquire()  # submit only when a worker is free, so the time check stays current
                    if self._abort or (started_here and remaining_seconds() < margin):
                        free.release()
                        out_of_time = not self._abort
                        break
                    started_here += 1
                    _submit(pool, self._check, listed, cursor.run_id).add_done_callback(finished)
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
        if self._proven(listed):  # refreshed within the proof window: checked, without LWA
            if listed.tags.get(names.TAG_HEALTH) == names.HEALTH_FAILING:
                self._recovered(listed)
            self._remind(listed)
            return PROVEN
        try:
            grant = grants.read_listed(self.config.prefix, listed)
            self.limiter.wait()
            # A hanging LWA must leave this invocation the time to record the failure and report: the
            # margin, or half of what is left when an invocation starts with less than the margin.
            keep = min(float(self.config.sweep_time_margin_seconds), deadline.current().remaining() / 2)
            with deadline.leaving(keep):
                self.vendor.refresh_grant(grant, detected_by="sweep")
        except LwaBudgetExhausted:
            return "not_checked"  # vends used LWA's budget for as long as this invocation may wait: no failure
        except GrantRevoked:
            return REVOKED
        except GrantNotFound:
            return "inactive"  # deleted since it was listed
        except GrantUnauthorized:
            # This grant's own problem (LWA accepted the application: vending.py asked): its health says so, the
            # run goes on, no app alarm, and it is no outage either (the transient streak is left alone).
            self._remind(listed)
            return FAILING
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
        if listed.tags.get(names.TAG_HEALTH) in (names.HEALTH_FAILING, names.HEALTH_UNAUTHORIZED):
            self._recovered(listed)
        self._remind(listed)
        return HEALTHY

    def _proven(self, listed: grants.Listed) -> bool:
        """Was the grant refreshed successfully since the run's proven_since? One read of its token item."""
        if self._proven_since is None or not self.vendor.shared.available:
            return False
        key = access_key(appcreds.load(self.config.prefix).client_id, listed.region, listed.selling_partner_id)
        try:
            minted = self.vendor.shared.minted_at(key)
        except SharedCacheUnavailable:
            count(names.METRIC_SHARED_CACHE_UNAVAILABLE)
            return False  # no proof to be had: refresh it
        return minted is not None and minted >= self._proven_since

    def _proof_threshold(self, kind: str) -> float | None:
        """The oldest refresh this run counts as a check (see the module's docstring); None: none counts."""
        window = self.config.sweep_proof_seconds
        if window <= 0:
            return None
        own = self.now() - window
        if kind != OPERATOR:
            return own
        try:
            latest = self.runs.latest()
        except (ClientError, BotoCoreError):
            return own  # the latest run's record is only an allowance: without it, the window alone
        if latest is None or (latest.summary or {}).get("outcome") != "completed" or latest.proven_since is None:
            return own
        since = latest.proven_since
        return min(own, since) if since >= own - self.config.sweep_period_seconds else own

    def _record_failure(self, listed: grants.Listed, run_id: str, error: Exception) -> None:
        with self._lock:
            self._transient_streak += 1
            if self._transient_streak >= OUTAGE_THRESHOLD and not self._abort:
                self._abort = "upstream_unavailable"
        self.health.record_failure(
            listed.region,
            listed.selling_partner_id,
            run_id,
            f"{type(error).__name__}: {error}",
            timestamps.iso_utc(self.now()),
        )
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
        record = self.health.clear(listed.region, listed.selling_partner_id)
        grants.remove_tags(self.config.prefix, listed.region, listed.selling_partner_id, [names.TAG_HEALTH])
        detail = {
            "selling_partner_id": listed.selling_partner_id,
            "region": listed.region,
            "failing_runs": record.failing_runs,
            "failing_since": record.failing_since,
        }
        events.publish(self.config.event_bus_name, names.EVENT_GRANT_RECOVERED, detail)

    def _remind(self, listed: grants.Listed) -> None:
        authorized_at = listed.tags.get(names.TAG_AUTHORIZED_AT)
        if not authorized_at:
            return
        deadline = timestamps.reauthorize_by(authorized_at)
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
                "reauthorize_by": timestamps.iso_utc(deadline.timestamp()),
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
            "checked": sum(counts[checked] for checked in names.SWEEP_CHECKED),
            "healthy": counts[HEALTHY] + counts[PROVEN],
            "proven": counts[PROVEN],  # of the healthy: a refresh within the proof window vouched, no LWA call
            "full": cursor.kind == FULL,
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
        self.runs.save(
            SweepRun(
                run_id=cursor.run_id,
                counts=cursor.counts,
                started_at=timestamps.iso_utc(cursor.started_at),
                done=done,
                updated_at=timestamps.iso_utc(self.now()),
                expires_at=int(self.now() + RUN_RECORD_DAYS * 86400),
                # The oldest refresh every grant checked by this run was proven by (a full run: its start),
                # which an operator's run started soon after may rely on too.
                proven_since=cursor.started_at if cursor.kind == FULL else cursor.proven_since,
                summary=summary,
            )
        )


def parse_event(event: object, now: float | None = None) -> Cursor:
    """The run an invocation works on: a continuation's cursor, a scheduled event (its id names the
    run) or an operator's start ({"run_id": …, "full": true|false}, both optional). Anything else is
    refused before a grant is touched."""
    if not isinstance(event, dict):
        raise InvalidRequest("the sweep event must be a JSON object")
    if "sweep_cursor" in event:
        _only(event, {"sweep_cursor"})
        return Cursor.from_payload(event["sweep_cursor"], now)
    if event.get("source") == "aws.events":
        return Cursor.new(checked_run_id(event.get("id"), "id"), SCHEDULED)
    _only(event, {"run_id", names.SWEEP_FULL})
    full = event.get(names.SWEEP_FULL, False)
    if not isinstance(full, bool):
        raise InvalidRequest(f"{names.SWEEP_FULL} must be true (refresh every grant) or false")
    run_id = checked_run_id(event["run_id"]) if "run_id" in event else None
    return Cursor.new(run_id, FULL if full else OPERATOR)


def cursor_payload(cursor: Cursor) -> dict:
    return {"sweep_cursor": asdict(cursor)}


def checked_run_id(value: object, where: str = "run_id") -> str:
    if not isinstance(value, str) or not RUN_ID.fullmatch(value):
        raise InvalidRequest(f"{where} must be 1 to 128 letters, digits or . _ : - (starting with a letter or digit)")
    return value


def field_name(name: object) -> str:
    """A caller's field name fit for an error message: short and printable."""
    text = name if isinstance(name, str) else repr(name)
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= 40 else text[:40] + "…"


def _only(event: dict, allowed: set[str]) -> None:
    unknown = sorted(set(event) - allowed, key=str)
    if unknown:
        raise InvalidRequest(f"unknown field: {field_name(unknown[0])}")


def _count(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _bounded(value: object, low: int, high: int, where: str) -> int:
    if not _count(value, low, high):
        raise InvalidRequest(f"{where} must be an integer from {low} to {high}")
    return value  # type: ignore[return-value]


def _submit(pool: ThreadPoolExecutor, function: Callable[..., T], *args: object) -> Future[T]:
    """Run in the invocation's context (contextvars): what is scoped to the invocation, such as
    Powertools' thread-local log keys, the deadline (deadline.py) or the local stack's note of which function
    runs, follows the work."""
    return pool.submit(contextvars.copy_context().run, function, *args)
