"""The revocation feed: how a flagged grant stops being served from every container's memory within a bound.

One small item in the table lists, for the last hour, `region#seller → when its cached tokens became
unservable` (written by `lifecycle.forget_tokens`: a revocation, or a replaced or restored refresh
token). Each container keeps a copy, re-read by one thread at most once per bound, and serves a
cached token of a listed grant only if the token was minted after that moment. A container that
cannot read the feed serves from memory only tokens younger than the bound; older ones take the
miss path, which reads the grant's status from Secrets Manager. So, whether the table answers or
not, no container serves a flagged grant's token longer than the bound after the flag.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from sellertoken import names, table
from sellertoken.observability import count

# The feed item. Its shape, in one place:
#   pk      = FEED_KEY
#   g#{region}#{seller} (N) = epoch seconds (the writer's clock) from which that grant's earlier tokens are void
#   floor   (N)  = the same for every grant: entries folded into it when the feed would grow too large
#   version (N)  = bumped by every write; a pruning write applies only to the version it read
FEED_KEY = table.REVOCATION_FEED_KEY
_ENTRY_PREFIX = "g#"
_FLOOR, _VERSION = "floor", "version"

TOKEN_LIFETIME_SECONDS = 3600  # LWA access tokens and RDTs: an older entry can no longer void a cached token
# Containers' clocks disagree a little, and a refresh that read the grant just before the flag may mint just
# after it: a token minted less than this after an entry counts as minted before it (refreshed once more).
CLOCK_MARGIN_SECONDS = 2.0
MAX_ENTRIES = 2000  # ~60 KB: a copy stays cheap to read; beyond it the oldest entries fold into `floor`
_MAX_REMOVALS = 100  # per pruning write, so the expression stays far below DynamoDB's 4 KB
_UNAVAILABLE_RETRY_SECONDS = 30.0  # after a failed read, the next try (meanwhile only young tokens are served)


class FeedUnavailable(Exception):
    """DynamoDB did not answer the feed's read or write."""


@dataclass(frozen=True)
class Clock:
    """Time as the revocation check sees it: monotonic for intervals, wall time to compare with mint times."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


@dataclass(frozen=True)
class Feed:
    """A container's copy of the feed: for each listed grant, the mint time below which its tokens are void."""

    cutoffs: Mapping[tuple[str, str], float] = field(default_factory=dict)
    floor: float = 0.0  # cutoff of every grant not listed

    def admits(self, grant: tuple[str, str], minted_at: float) -> bool:
        return minted_at >= self.cutoffs.get(grant, self.floor)

    @classmethod
    def from_item(cls, item: Mapping[str, dict]) -> Feed:
        floor = float(item[_FLOOR]["N"]) + CLOCK_MARGIN_SECONDS if _FLOOR in item else 0.0
        cutoffs = {}
        for name, at in _entries(item).items():
            region, _, seller = name[len(_ENTRY_PREFIX) :].partition("#")
            cutoffs[(region, seller)] = max(at + CLOCK_MARGIN_SECONDS, floor)
        return cls(cutoffs, floor)


class RevocationFeed:
    """Reads and writes the feed item in the broker's table."""

    def __init__(self, table_name: str, client, max_entries: int = MAX_ENTRIES) -> None:
        self.table_name = table_name
        self.max_entries = max_entries
        self._client = client

    def read(self) -> Feed:
        item = self._call("get_item", Key=_key(), ConsistentRead=True).get("Item", {})
        return Feed.from_item(item)

    def record(self, region: str, selling_partner_id: str, at: float) -> None:
        """Void the grant's tokens minted before `at` in every container; prune what no cached token needs."""
        entry = _entry_name(region, selling_partner_id)
        try:
            answer = self._call(
                "update_item",
                Key=_key(),
                UpdateExpression="SET #entry = :at ADD #version :one",
                # An entry only moves forward (another writer's clock may be ahead of ours).
                ConditionExpression="attribute_not_exists(#entry) OR #entry < :at",
                ExpressionAttributeNames={"#entry": entry, "#version": _VERSION},
                ExpressionAttributeValues={":at": _number(at), ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            return  # a later moment is recorded already
        self._prune(answer["Attributes"], at)

    def _prune(self, item: Mapping[str, dict], now: float) -> None:
        keep_from = now - TOKEN_LIFETIME_SECONDS - CLOCK_MARGIN_SECONDS
        entries = _entries(item)
        expired = [name for name, at in entries.items() if at < keep_from]
        young = sorted((at, name) for name, at in entries.items() if at >= keep_from)
        folded = young[: max(0, len(young) - self.max_entries)][:_MAX_REMOVALS]
        removed = (expired + [name for _, name in folded])[:_MAX_REMOVALS]
        current = float(item[_FLOOR]["N"]) if _FLOOR in item else None
        floors = [f for f in (current, *(at for at, name in folded if name in removed)) if f is not None]
        floor = max(floors) if floors and max(floors) >= keep_from else None
        if not removed and floor == current:
            return
        names_ = {f"#r{i}": name for i, name in enumerate(removed)}
        values = {":seen": item[_VERSION], ":one": {"N": "1"}}
        expression = ""
        if floor is not None and floor != current:
            names_["#floor"], values[":floor"] = _FLOOR, _number(floor)
            expression = "SET #floor = :floor "
        elif floor is None and current is not None:
            names_["#floor"] = _FLOOR  # every token it voided has expired
        removals = [placeholder for placeholder in names_ if placeholder.startswith("#r")]
        if floor is None and current is not None:
            removals.append("#floor")
        if removals:
            expression += "REMOVE " + ", ".join(removals) + " "
        try:
            self._call(
                "update_item",
                Key=_key(),
                UpdateExpression=expression + "ADD #version :one",
                ConditionExpression="#version = :seen",
                ExpressionAttributeNames={**names_, "#version": _VERSION},
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return  # another writer came between: its own write prunes

    def _call(self, operation: str, **kwargs):
        try:
            return getattr(self._client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise _ConditionFailed from None
            raise FeedUnavailable(exc.response["Error"]["Code"]) from None
        except BotoCoreError as exc:
            raise FeedUnavailable(type(exc).__name__) from None


class RevocationWatch:
    """This container's view of the feed. A check costs a clock read and a dict look-up; about once per bound
    one thread re-reads the feed (shortly before the copy stops vouching) while the others go on with the copy.

    The bound is kept from the moment the flag is written, with some slack: a copy vouches for cached tokens
    for `bound - slack` after its read began, and without a copy only tokens minted less than
    `bound - slack - CLOCK_MARGIN_SECONDS` ago are served. The slack (5 s at most) covers writing the flag
    and carrying the refusal back to the caller, so the caller sees GrantRevoked within the bound.
    """

    def __init__(self, read: Callable[[], Feed], bound_seconds: float, clock: Clock | None = None) -> None:
        self.bound = bound_seconds
        self._read = read
        self._clock = clock or Clock()
        slack = min(5.0, bound_seconds / 4)
        self.vouch_seconds = bound_seconds - slack  # how long a copy vouches for cached tokens
        self._read_ahead = min(1.0, bound_seconds / 8)  # re-read this long before the copy stops vouching
        self.unverified_age = self.vouch_seconds - CLOCK_MARGIN_SECONDS  # without a copy: the oldest served
        self._feed = Feed()
        self._reread_at = -math.inf  # monotonic
        self._valid_until = -math.inf  # monotonic: the copy vouches for cached tokens until then
        self._reading = threading.Lock()

    def admits(self, grant: tuple[str, str], minted_at: float) -> bool:
        """May a cached token of `grant` minted at `minted_at` be served now?"""
        now = self._clock.monotonic()
        if now >= self._reread_at:
            self._reread()
        if now < self._valid_until:
            return self._feed.admits(grant, minted_at)
        # No current copy: only a token minted after every flag older than the bound may still be served.
        return minted_at >= self._clock.wall() - self.unverified_age

    def _reread(self) -> None:
        if not self._reading.acquire(blocking=False):
            return  # another thread is reading; the copy still vouches until _valid_until
        try:
            started = self._clock.monotonic()
            if started < self._reread_at:
                return  # read by another thread since this one looked
            try:
                feed = self._read()
            except FeedUnavailable:
                count(names.METRIC_REVOCATION_FEED_UNAVAILABLE)
                self._reread_at = self._clock.monotonic() + min(_UNAVAILABLE_RETRY_SECONDS, self.bound)
                return
            self._feed = feed
            # From when the read began: a flag written after that is not in this copy.
            self._valid_until = started + self.vouch_seconds
            self._reread_at = self._valid_until - self._read_ahead
        finally:
            self._reading.release()


def _key() -> dict:
    return table.key(FEED_KEY)


def _entry_name(region: str, selling_partner_id: str) -> str:
    return f"{_ENTRY_PREFIX}{region}#{selling_partner_id}"


def _entries(item: Mapping[str, dict]) -> dict[str, float]:
    return {name: float(value["N"]) for name, value in item.items() if name.startswith(_ENTRY_PREFIX)}


def _number(seconds: float) -> dict:
    return {"N": f"{seconds:.3f}"}


class _ConditionFailed(Exception):
    pass
