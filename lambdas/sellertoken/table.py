"""The broker's one DynamoDB table: every record it holds, each one's key, and the records no component owns.

One table, a string partition key (names.TABLE_PARTITION_KEY) and a TTL attribute (names.TABLE_TTL_ATTRIBUTE,
epoch seconds). Every key starts with its record's kind and `#` (the feed's is a bare word), so no two kinds
can collide; ids that go into a key are validated first (a selling partner id, a state id, a run id: no `#`).

| record            | key                         | fields                                           | owner          |
|-------------------|-----------------------------|--------------------------------------------------|----------------|
| consent state     | `state#{state_id}`          | ttl: the state's expiry (spent once only)        | state.py       |
| token (and proof) | `token#{hash of cache key}` | token, expires_at, minted_at, ttl                | tokencache.py  |
| refresh lease     | `lease#{hash of cache key}` | owner, lease_until, ttl                          | tokencache.py  |
| revocation feed   | `revocations`               | g#{region}#{seller}, floor, version              | revocations.py |
| LWA budget shard  | `lwa#budget#{shard}`        | tat (the shard's next free slot)                 | budget.py      |
| rotation state    | `app#rotation`              | see rotationstate.py                             | rotationstate  |
| grant health      | `health#{region}#{seller}`  | see Health (below)                               | here           |
| sweep run         | `sweep#run#{run_id}`        | see SweepRun (below), ttl RUN_RECORD_DAYS        | here           |
| latest sweep run  | `sweep#latest`              | a copy of the latest finished run's record       | here           |

A grant's token item is also its proof of refresh: minted_at is when LWA last refreshed it (tokencache.py).
The operator CLI reads grant health and sweep runs through a copy of these keys in its own names module,
guarded by tests/unit/test_client_names.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sellertoken import aws, names

PARTITION_KEY = names.TABLE_PARTITION_KEY
TTL = names.TABLE_TTL_ATTRIBUTE

STATE_PREFIX = "state#"
TOKEN_PREFIX = "token#"
LEASE_PREFIX = "lease#"
REVOCATION_FEED_KEY = "revocations"
BUDGET_PREFIX = "lwa#budget#"
ROTATION_KEY = "app#rotation"
HEALTH_PREFIX = "health#"
SWEEP_RUN_PREFIX = "sweep#run#"
SWEEP_LATEST_KEY = "sweep#latest"
RUN_RECORD_DAYS = 14  # a sweep run's record lives this long (and a continuation may be this old)


def key(value: str) -> dict[str, dict[str, str]]:
    """The `Key` (or the key part of an `Item`) of the record whose partition key is `value`."""
    return {PARTITION_KEY: {"S": value}}


def state_key(state_id: str) -> str:
    return f"{STATE_PREFIX}{state_id}"


def cache_item_key(cache_key: Hashable) -> str:
    """A shared-cache key's hash: cache keys hold client ids and scopes, which a table key need not show."""
    return hashlib.sha256(repr(cache_key).encode()).hexdigest()


def token_key(cache_key: Hashable) -> str:
    return f"{TOKEN_PREFIX}{cache_item_key(cache_key)}"


def lease_key(cache_key: Hashable) -> str:
    return f"{LEASE_PREFIX}{cache_item_key(cache_key)}"


def budget_key(shard: int) -> str:
    return f"{BUDGET_PREFIX}{shard}"


def health_key(region: str, selling_partner_id: str) -> str:
    return f"{HEALTH_PREFIX}{region}#{selling_partner_id}"


def sweep_run_key(run_id: str) -> str:
    return f"{SWEEP_RUN_PREFIX}{run_id}"


# -- grant health ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """What went wrong with one grant lately, for operators (`grants list/show`) and the recovery event.

    Fields: last_error (S), last_attempt (S, ISO), first_failed_at (S, ISO), and from the sweep failing_runs
    (N, counted once per run) and last_run (S), or from an unauthorized_client answer detected_by (S)."""

    failing_runs: int
    failing_since: str | None


class GrantHealth:
    """The grant health records: written when a refresh fails without a revocation, deleted on recovery."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def record_failure(self, region: str, selling_partner_id: str, run_id: str, error: str, now: str) -> None:
        """A sweep run's transient failure for this grant, counted once per run."""
        try:
            aws.client("dynamodb").update_item(
                TableName=self.table_name,
                Key=key(health_key(region, selling_partner_id)),
                UpdateExpression="SET last_error = :error, last_attempt = :now, last_run = :run, "
                "first_failed_at = if_not_exists(first_failed_at, :now) ADD failing_runs :one",
                ConditionExpression="attribute_not_exists(last_run) OR last_run <> :run",
                ExpressionAttributeValues={
                    ":error": {"S": error[:300]},
                    ":now": {"S": now},
                    ":run": {"S": run_id},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # already counted in this run

    def record_unauthorized(self, region: str, selling_partner_id: str, detected_by: str, now: str) -> None:
        """LWA refuses this grant's refresh token for the application (unauthorized_client)."""
        aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key=key(health_key(region, selling_partner_id)),
            UpdateExpression="SET last_error = :error, last_attempt = :now, detected_by = :by, "
            "first_failed_at = if_not_exists(first_failed_at, :now)",
            ExpressionAttributeValues={
                ":error": {"S": "unauthorized_client: LWA refuses this grant's refresh token for the application"},
                ":now": {"S": now},
                ":by": {"S": detected_by},
            },
        )

    def clear(self, region: str, selling_partner_id: str) -> Health:
        """Delete the record (the grant recovered); what it said, for the recovery event."""
        record = (
            aws.client("dynamodb")
            .delete_item(
                TableName=self.table_name, Key=key(health_key(region, selling_partner_id)), ReturnValues="ALL_OLD"
            )
            .get("Attributes", {})
        )
        return Health(
            failing_runs=int(record.get("failing_runs", {}).get("N", 0)),
            failing_since=record.get("first_failed_at", {}).get("S"),
        )


# -- sweep runs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """A sweep run's record: its progress for the CLI's progress bar, its summary once done, and the oldest
    refresh every grant it checked was proven by (an operator's run started soon after may rely on it)."""

    run_id: str
    counts: dict[str, int]
    started_at: str  # ISO
    done: bool
    updated_at: str  # ISO
    expires_at: int  # epoch seconds: the record's TTL
    proven_since: float | None = None
    summary: dict[str, Any] | None = None


class SweepRuns:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def save(self, run: SweepRun) -> None:
        """Write the run's record; a finished run's also becomes the latest."""
        item = {
            **key(sweep_run_key(run.run_id)),
            "counts": {"S": _json(run.counts)},
            "started_at": {"S": run.started_at},
            "done": {"BOOL": run.done},
            "updated_at": {"S": run.updated_at},
            TTL: {"N": str(run.expires_at)},
        }
        if run.proven_since is not None:
            item["proven_since"] = {"N": f"{run.proven_since:.3f}"}
        if run.summary:
            item["summary"] = {"S": _json(run.summary)}
        ddb = aws.client("dynamodb")
        ddb.put_item(TableName=self.table_name, Item=item)
        if run.done:
            ddb.put_item(TableName=self.table_name, Item={**item, **key(SWEEP_LATEST_KEY)})

    def latest(self) -> SweepRun | None:
        """The latest finished run's record, or None. Raises botocore's errors (the caller decides)."""
        item = aws.client("dynamodb").get_item(TableName=self.table_name, Key=key(SWEEP_LATEST_KEY)).get("Item")
        if not item:
            return None
        summary = json.loads(item["summary"]["S"]) if "summary" in item else None
        return SweepRun(
            run_id=(summary or {}).get("run_id", ""),
            counts=json.loads(item["counts"]["S"]) if "counts" in item else {},
            started_at=item.get("started_at", {}).get("S", ""),
            done=item.get("done", {}).get("BOOL", False),
            updated_at=item.get("updated_at", {}).get("S", ""),
            expires_at=int(item[TTL]["N"]) if TTL in item else 0,
            proven_since=float(item["proven_since"]["N"]) if "proven_since" in item else None,
            summary=summary,
        )


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
