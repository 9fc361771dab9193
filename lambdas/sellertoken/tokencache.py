"""Access-token caches: one per container in memory, one shared by the fleet in DynamoDB.

The shared cache also holds refresh leases: a conditional write with an owner token and a short
expiry. Whoever holds the lease calls LWA; everyone else waits and re-reads. A lease whose holder
died simply expires. Tokens are stored as-is: the table is encrypted with the stack's customer
managed key, and reading it needs kms:Decrypt on that key, which only the broker's roles have.

The shared items (their keys: table.token_key and table.lease_key, a hash of the cache key):
  token#{hash}  token (S), expires_at (N), minted_at (N: when the refresh that made it started), ttl
  lease#{hash}  owner (S), lease_until (N), ttl

A grant's access-token item (`access_key`) is also the grant's proof of refresh: its minted_at is when
LWA last refreshed the grant successfully (vend and the sweep write it after every refresh, and
lifecycle.forget_tokens deletes it when the grant is flagged or its refresh token replaced). The sweep
counts a grant refreshed within its proof window as checked (sweep.py), so the item outlives its token
by `keep_seconds` (the window).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from sellertoken import names, table

LEASE_SECONDS = 8.0  # longer than one LWA call with its retries' usual time, short if the holder died
MIN_TTL_FLOOR = 60  # never hand out a token with less than a minute left (the SDKs' skew)
_UNAVAILABLE_COOLDOWN = 30.0  # after a shared-cache failure, skip it for this long in this container

# The shared cache must fail fast: when it is down, vending goes on from memory and LWA.
SHARED_CACHE_BOTO_CONFIG = BotoConfig(
    connect_timeout=0.5, read_timeout=1.0, retries={"mode": "standard", "max_attempts": 2}, max_pool_connections=50
)


def access_key(client_id: str, region: str, selling_partner_id: str) -> tuple[str, str, str, str]:
    """The cache key of a grant's access token, whose shared item is the grant's proof of refresh."""
    return (client_id, region, selling_partner_id, "access")


@dataclass(frozen=True, repr=False)
class CachedToken:
    access_token: str
    expires_at: float  # epoch seconds
    # When the request that made it started (epoch seconds, the minter's clock): a revocation recorded after
    # it makes the token unservable (revocations.py). 0 means unknown, which counts as older than any revocation.
    minted_at: float = 0.0

    def __repr__(self) -> str:
        return f"CachedToken(expires_at={self.expires_at}, minted_at={self.minted_at})"

    def usable(self, min_ttl: float, now: float | None = None) -> bool:
        return self.expires_at - (now if now is not None else time.time()) >= max(MIN_TTL_FLOOR, min_ttl)


class MemoryCache:
    """Per-container cache with one lock per key, so concurrent misses for a key refresh once.

    A key's lock lives only while someone holds or waits for it, so the lock map stays as small as the
    number of refreshes in flight, however many keys the container has seen.
    """

    def __init__(self) -> None:
        self._tokens: dict[Hashable, CachedToken] = {}
        self._locks: dict[Hashable, _SharedLock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, min_ttl: float) -> CachedToken | None:
        token = self._tokens.get(key)
        return token if token is not None and token.usable(min_ttl) else None

    def put(self, key: Hashable, token: CachedToken) -> None:
        self._tokens[key] = token
        if len(self._tokens) > 20_000:  # bound memory: drop what has expired
            now = time.time()
            with self._guard:  # list() snapshots the dict atomically, other threads may be writing
                for stale in [k for k, t in list(self._tokens.items()) if t.expires_at <= now]:
                    self._tokens.pop(stale, None)

    def discard(self, key: Hashable) -> None:
        self._tokens.pop(key, None)

    def evict(self, predicate) -> None:
        with self._guard:
            for key in [k for k in list(self._tokens) if predicate(k)]:
                self._tokens.pop(key, None)

    def lock(self, key: Hashable) -> KeyLock:
        """The key's lock: `with cache.lock(key):`, or acquire(timeout=…) and release() on the same object."""
        return KeyLock(self, key)

    def _enter(self, key: Hashable) -> _SharedLock:
        with self._guard:
            shared = self._locks.get(key)
            if shared is None:
                shared = self._locks[key] = _SharedLock()
            shared.users += 1
            return shared

    def _leave(self, key: Hashable, shared: _SharedLock) -> None:
        with self._guard:
            shared.users -= 1
            if shared.users == 0:
                del self._locks[key]


class _SharedLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0  # holders and waiters: the map entry goes when the last one leaves


class KeyLock:
    """One caller's handle on a key's lock in a MemoryCache."""

    def __init__(self, cache: MemoryCache, key: Hashable) -> None:
        self._cache = cache
        self._key = key
        self._shared: _SharedLock | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        shared = self._cache._enter(self._key)
        if not shared.lock.acquire(blocking, timeout):
            self._cache._leave(self._key, shared)
            return False
        self._shared = shared
        return True

    def release(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            raise RuntimeError("release of a key lock that is not held")
        shared.lock.release()
        self._cache._leave(self._key, shared)

    def __enter__(self) -> KeyLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class SharedCacheUnavailable(Exception):
    """DynamoDB did not answer; the caller carries on without the shared cache."""


class SharedCache:
    """Tokens and refresh leases in the broker's DynamoDB table, keyed by a hash of the cache key."""

    def __init__(
        self,
        table_name: str,
        client,
        lease_seconds: float = LEASE_SECONDS,
        admit: Callable[[Hashable, CachedToken], bool] | None = None,
        keep_seconds: float = 0.0,
    ) -> None:
        self.table_name = table_name
        self.lease_seconds = lease_seconds
        # A stored token's item lives at least this long after it was minted (the sweep's proof window).
        self.keep_seconds = keep_seconds
        self._client = client
        self._down_until = 0.0
        # Which stored tokens this container may serve (the revocation check); a refused one reads as a miss.
        self._admit = admit

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def get(self, key: Hashable) -> CachedToken | None:
        item = self._call(
            "get_item",
            TableName=self.table_name,
            Key=table.key(table.token_key(key)),
            ConsistentRead=True,
        ).get("Item")
        if not item or "token" not in item:
            return None
        minted_at = float(item["minted_at"]["N"]) if "minted_at" in item else 0.0
        token = CachedToken(item["token"]["S"], float(item["expires_at"]["N"]), minted_at)
        return token if self._admit is None or self._admit(key, token) else None

    def minted_at(self, key: Hashable) -> float | None:
        """When the token stored under `key` was minted (the start of the refresh that made it), or None.

        Reads that one attribute, never the token, and eventually consistent: a refresh a moment ago that
        the read misses only costs a refresh more, and a deleted item it still sees was flagged or replaced
        after a refresh that did succeed."""
        item = self._call(
            "get_item",
            TableName=self.table_name,
            Key=table.key(table.token_key(key)),
            ProjectionExpression="minted_at",
        ).get("Item")
        minted = float(item["minted_at"]["N"]) if item and "minted_at" in item else 0.0
        return minted or None

    def put(self, key: Hashable, token: CachedToken) -> None:
        self._call(
            "put_item",
            TableName=self.table_name,
            Item={
                **table.key(table.token_key(key)),
                "token": {"S": token.access_token},
                "expires_at": {"N": repr(token.expires_at)},
                "minted_at": {"N": repr(token.minted_at)},
                names.TABLE_TTL_ATTRIBUTE: {
                    "N": str(int(max(token.expires_at, token.minted_at + self.keep_seconds)) + 60)
                },
            },
        )

    def delete(self, key: Hashable) -> None:
        self._call(
            "delete_item",
            TableName=self.table_name,
            Key=table.key(table.token_key(key)),
        )

    def acquire_lease(self, key: Hashable, seconds: float | None = None) -> str | None:
        """Take the refresh lease for `key` (for `seconds`, default lease_seconds); returns the owner token,
        or None when someone else holds it."""
        owner = uuid.uuid4().hex
        now = time.time()
        seconds = self.lease_seconds if seconds is None else seconds
        try:
            self._call(
                "put_item",
                TableName=self.table_name,
                Item={
                    **table.key(table.lease_key(key)),
                    "owner": {"S": owner},
                    "lease_until": {"N": repr(now + seconds)},
                    names.TABLE_TTL_ATTRIBUTE: {"N": str(int(now + seconds) + 60)},
                },
                ConditionExpression="attribute_not_exists(#pk) OR lease_until < :now",
                ExpressionAttributeNames={"#pk": names.TABLE_PARTITION_KEY},
                ExpressionAttributeValues={":now": {"N": repr(now)}},
            )
        except _ConditionFailed:
            return None
        return owner

    def release_lease(self, key: Hashable, owner: str) -> None:
        """Give the lease back, only if it is still ours (never delete a successor's lease)."""
        try:
            self._call(
                "delete_item",
                TableName=self.table_name,
                Key=table.key(table.lease_key(key)),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except _ConditionFailed:
            return

    def _call(self, operation: str, **kwargs):
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise _ConditionFailed from None
            self._down_until = time.monotonic() + _UNAVAILABLE_COOLDOWN
            raise SharedCacheUnavailable(exc.response["Error"]["Code"]) from None
        except BotoCoreError as exc:
            self._down_until = time.monotonic() + _UNAVAILABLE_COOLDOWN
            raise SharedCacheUnavailable(type(exc).__name__) from None


class _ConditionFailed(Exception):
    pass
