"""The rotation record: one item in the broker's table that says what has been done about the current client
secret, so that duplicate and concurrent notices, the schedule and operators agree through conditional writes.

Its shape, in one place (times are epoch seconds):
  pk                  = KEY
  secret      (S)  fingerprint of the client secret the per-secret fields below are about (appcreds)
  state       (S)  REQUESTED (Amazon was asked, or may have been) | REFUSED | ROTATED (this secret is the
                   new one a rotation or an operator installed); absent: nothing asked about this secret yet
  requested_at, next_attempt_at (N), attempts (N), last_result (S), trigger (S)
  last_attempt_at (N)  the last call to rotateApplicationClientSecret, whatever the secret (Amazon's rate)
  notice_expires_at (N)  the expiry Amazon's last expiry notice gave for this secret
  reminded    (N)  the last `App Credentials Expiring` reminder sent for this secret (30, 7 or 1)
  expired_reported (BOOL)  `App Credentials Rejected` was sent for this secret's expiry
  rotated_at (N), rotated_by (S)  how this secret came (ROTATED only)
  last_expiry_notice_at, last_new_secret_notice_at (N)  about any secret: evidence of the queue registration

A new secret does not touch the other fields until `adopt` switches the record to it, which clears them.
Losing the item loses nothing that Amazon's next notice or the schedule cannot rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sellertoken import aws, names, table

KEY = table.ROTATION_KEY
REQUESTED, REFUSED, ROTATED = "requested", "refused", "rotated"
_PER_SECRET = (
    "#state",
    "requested_at",
    "next_attempt_at",
    "attempts",
    "last_result",
    "#trigger",
    "notice_expires_at",
    "reminded",
    "expired_reported",
    "rotated_at",
    "rotated_by",
)
_NAMES = {"#state": "state", "#trigger": "trigger"}


@dataclass(frozen=True)
class Record:
    secret: str | None = None
    state: str | None = None
    requested_at: float | None = None
    last_attempt_at: float | None = None
    next_attempt_at: float | None = None
    attempts: int = 0
    last_result: str | None = None
    trigger: str | None = None
    notice_expires_at: float | None = None
    reminded: int | None = None
    expired_reported: bool = False
    rotated_at: float | None = None
    rotated_by: str | None = None
    last_expiry_notice_at: float | None = None
    last_new_secret_notice_at: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, dict]) -> Record:
        def number(name: str) -> float | None:
            return float(item[name]["N"]) if name in item else None

        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        return cls(
            secret=text("secret"),
            state=text("state"),
            requested_at=number("requested_at"),
            last_attempt_at=number("last_attempt_at"),
            next_attempt_at=number("next_attempt_at"),
            attempts=int(number("attempts") or 0),
            last_result=text("last_result"),
            trigger=text("trigger"),
            notice_expires_at=number("notice_expires_at"),
            reminded=int(number("reminded")) if "reminded" in item else None,
            expired_reported=item.get("expired_reported", {}).get("BOOL", False),
            rotated_at=number("rotated_at"),
            rotated_by=text("rotated_by"),
            last_expiry_notice_at=number("last_expiry_notice_at"),
            last_new_secret_notice_at=number("last_new_secret_notice_at"),
        )

    def about(self, fingerprint: str) -> Record:
        """This record as it applies to `fingerprint`: the per-secret fields only if it is that secret's."""
        if self.secret == fingerprint:
            return self
        return Record(
            secret=fingerprint,
            last_expiry_notice_at=self.last_expiry_notice_at,
            last_new_secret_notice_at=self.last_new_secret_notice_at,
        )


class Store:
    """Reads and conditionally writes the record."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def read(self) -> Record:
        item = self._ddb().get_item(TableName=self.table_name, Key=_key(), ConsistentRead=True).get("Item")
        return Record.from_item(item) if item else Record()

    def adopt(self, fingerprint: str) -> None:
        """Make the record about `fingerprint` (a no-op when it already is), clearing what concerned another secret."""
        self._update(
            "SET secret = :fp REMOVE " + ", ".join(_PER_SECRET),
            "attribute_not_exists(secret) OR secret <> :fp",
            {":fp": _s(fingerprint)},
        )

    def note_notice(self, fingerprint: str, kind: str, at: float, expires_at: float | None = None) -> None:
        """A notice came from Amazon (the queue works); an expiry notice also tells this secret's expiry."""
        field = "last_expiry_notice_at" if kind == names.NOTICE_SECRET_EXPIRY else "last_new_secret_notice_at"
        expression, values = f"SET {field} = :at", {":at": _n(at)}
        if expires_at is not None:
            expression += ", notice_expires_at = :expires"
            values[":expires"] = _n(expires_at)
            self._update(expression, "secret = :fp", {**values, ":fp": _s(fingerprint)})
        else:
            self._update(expression, None, values)

    def claim(self, fingerprint: str, *, now: float, rate_seconds: float, await_seconds: float, force: bool,
              trigger: str) -> bool:  # fmt: skip
        """Take the right to call rotateApplicationClientSecret for this secret now: at most one call per
        `rate_seconds` whatever the secret, none while Amazon's answer to an earlier one is awaited, and after
        a refusal not before its retry time (unless an operator forces it). False: someone else has it, or
        it is not time."""
        allowed = (
            "attribute_not_exists(#state) OR #state = :rotated"
            " OR (#state = :requested AND requested_at <= :await_edge)"
            + (" OR #state = :refused" if force else " OR (#state = :refused AND next_attempt_at <= :now)")
        )
        return self._update(
            "SET #state = :requested, requested_at = :now, last_attempt_at = :now, #trigger = :trigger, "
            "last_result = :pending ADD attempts :one",
            f"secret = :fp AND (attribute_not_exists(last_attempt_at) OR last_attempt_at <= :rate_edge) "
            f"AND ({allowed})",
            {
                ":fp": _s(fingerprint),
                ":now": _n(now),
                ":rate_edge": _n(now - rate_seconds),
                ":await_edge": _n(now - await_seconds),
                ":requested": _s(REQUESTED),
                ":refused": _s(REFUSED),
                ":rotated": _s(ROTATED),
                ":trigger": _s(trigger),
                ":pending": _s("pending"),
                ":one": {"N": "1"},
            },
        )

    def answered(self, fingerprint: str, *, state: str, result: str, next_attempt_at: float | None = None) -> bool:
        """Record Amazon's answer to the call this secret's claim made (unless a new secret came meanwhile)."""
        expression = "SET #state = :state, last_result = :result"
        values = {":fp": _s(fingerprint), ":state": _s(state), ":result": _s(result), ":requested": _s(REQUESTED)}
        if next_attempt_at is not None:
            expression += ", next_attempt_at = :next"
            values[":next"] = _n(next_attempt_at)
        return self._update(expression, "secret = :fp AND #state = :requested", values)

    def installed(self, fingerprint: str, *, at: float, by: str) -> bool:
        """Switch the record to a newly installed secret; False when it already was (a duplicate notice), or when
        something has happened about that secret since (a rotation of it asked for: a late duplicate of its own
        notice must not undo that)."""
        return self._update(
            "SET secret = :fp, #state = :rotated, rotated_at = :at, rotated_by = :by REMOVE "
            + ", ".join(f for f in _PER_SECRET if f not in ("#state", "rotated_at", "rotated_by")),
            "attribute_not_exists(secret) OR secret <> :fp OR attribute_not_exists(#state)",
            {":fp": _s(fingerprint), ":rotated": _s(ROTATED), ":at": _n(at), ":by": _s(by)},
        )

    def remind(self, fingerprint: str, threshold: int) -> bool:
        """Note that the `threshold`-day reminder went out; False when it (or a later one) already had."""
        return self._update(
            "SET reminded = :threshold",
            "secret = :fp AND (attribute_not_exists(reminded) OR reminded > :threshold)",
            {":fp": _s(fingerprint), ":threshold": _n(threshold)},
        )

    def report_expired(self, fingerprint: str) -> bool:
        return self._update(
            "SET expired_reported = :yes",
            "secret = :fp AND attribute_not_exists(expired_reported)",
            {":fp": _s(fingerprint), ":yes": {"BOOL": True}},
        )

    def _update(self, expression: str, condition: str | None, values: dict[str, Any]) -> bool:
        used = {k: v for k, v in _NAMES.items() if k in expression or (condition and k in condition)}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if used:
            request["ExpressionAttributeNames"] = used
        if condition:
            request["ConditionExpression"] = condition
        try:
            self._ddb().update_item(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _ddb():
        return aws.client("dynamodb")


def _key() -> dict[str, dict[str, str]]:
    return table.key(KEY)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(round(float(value), 3))}
