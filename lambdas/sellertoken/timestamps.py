"""The broker's one timestamp format, and the re-authorization deadline counted from a consent.

Values, tags, events, table records and answers all carry ISO 8601 UTC to the second
(names.ISO_UTC_FORMAT); the client reads the same format (its guarded copy of names).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sellertoken import names

# A seller's authorization ends a year after its consent (reference §2): the sweep reminds, `grants list` shows it.
REAUTHORIZE_AFTER = timedelta(days=names.REAUTHORIZE_AFTER_DAYS)


def iso_utc(moment: datetime | float) -> str:
    """A moment (a datetime, or epoch seconds) in the one timestamp format."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime(names.ISO_UTC_FORMAT)


def iso_utc_or_none(moment: float | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def now_iso() -> str:
    return iso_utc(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    """A timestamp this broker wrote (or any ISO 8601 time; a trailing Z is UTC). ValueError if it is none."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def reauthorize_by(authorized_at: str) -> datetime:
    """When a grant authorized at `authorized_at` must be authorized again."""
    return parse_iso(authorized_at) + REAUTHORIZE_AFTER
