"""Token vending: seller access tokens, Restricted Data Tokens and grantless tokens, cached so that
LWA is called once per grant per token lifetime across the whole fleet.

Order of look-up: this container's memory → the shared DynamoDB cache → a refresh under a
fleet-wide lease, within the fleet's LWA budget (budget.py). Requests are validated before anything
else is touched. Every wait (for this container's lock, for another container's lease, for an LWA slot)
ends at the invocation's deadline (deadline.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sellertoken import appcreds, aws, deadline, grants, lifecycle, names, revocations, spapi, timestamps
from sellertoken.budget import LwaBudget
from sellertoken.config import Config
from sellertoken.errors import (
    AppCredentialsRejected,
    ClientUnauthorized,
    GrantRevoked,
    GrantUnauthorized,
    InvalidGrant,
    InvalidRequest,
    UpstreamUnavailable,
    echo,
)
from sellertoken.lwa import GRANTLESS_SCOPES, LwaClient, LwaToken
from sellertoken.observability import count, logger
from sellertoken.regions import REGIONS, RegionTable
from sellertoken.tokencache import (
    SHARED_CACHE_BOTO_CONFIG,
    CachedToken,
    MemoryCache,
    SharedCache,
    SharedCacheUnavailable,
    access_key,
)

MAX_MIN_TTL = 3300
MAX_RESTRICTED_RESOURCES = 50
RDT_METHODS = ("GET", "PUT", "POST", "DELETE")
DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")
_FIELDS = {"selling_partner_id", "region", "min_ttl_seconds", "restricted_resources", "target_application", "scope"}
_SELLER_FIELDS = ("selling_partner_id", "restricted_resources", "target_application")  # meaningless with a scope
_POLL_SECONDS = (0.02, 0.025, 0.03, 0.04, 0.05)  # lease waiters re-read soon: a refresh is ~0.1-0.5 s
# After LWA accepts the application's own grantless call, an unauthorized_client on a refresh is taken for the
# grant's own for this long before the application is asked again.
APP_CHECK_SECONDS = 300.0


@dataclass(frozen=True)
class VendRequest:
    selling_partner_id: str | None
    region: str | None
    min_ttl_seconds: int = 0
    restricted_resources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    target_application: str | None = None
    scope: str | None = None


def parse_request(payload: object) -> VendRequest:
    """Validate a vend payload strictly; InvalidRequest names the offending field."""
    if not isinstance(payload, Mapping):
        raise InvalidRequest("the request must be a JSON object")
    unknown = [str(name) for name in payload if name not in _FIELDS]
    if unknown:  # the name as sent may be huge or hold control bytes: show a bounded, printable prefix
        raise InvalidRequest(f"unknown field: {echo(min(unknown))}")
    min_ttl = payload.get("min_ttl_seconds", 0)
    if isinstance(min_ttl, bool) or not isinstance(min_ttl, int) or not 0 <= min_ttl <= MAX_MIN_TTL:
        raise InvalidRequest(f"min_ttl_seconds must be an integer from 0 to {MAX_MIN_TTL}")
    region = payload.get("region")
    if region is not None and (not isinstance(region, str) or region not in REGIONS):
        raise InvalidRequest(names.REGION_RULE)
    scope = payload.get("scope")
    if scope is not None:
        if scope not in GRANTLESS_SCOPES:
            raise InvalidRequest(f"scope must be one of {', '.join(GRANTLESS_SCOPES)}")
        extra = next((name for name in _SELLER_FIELDS if name in payload), None)
        if extra is not None:
            raise InvalidRequest(f"{extra} cannot be combined with scope (a grantless token has no seller)")
        return VendRequest(None, region, min_ttl, scope=scope)
    seller = payload.get("selling_partner_id")
    if not names.is_selling_partner_id(seller):
        raise InvalidRequest(names.SELLING_PARTNER_ID_RULE)
    if region is None:
        raise InvalidRequest("region is required (na, eu or fe)")
    target = payload.get("target_application")
    if target is not None and (not isinstance(target, str) or not 0 < len(target) <= 256 or not target.isprintable()):
        raise InvalidRequest("target_application must be an application id")
    resources = _resources(payload["restricted_resources"]) if "restricted_resources" in payload else ()
    if target is not None and not resources:
        raise InvalidRequest("target_application needs restricted_resources")
    return VendRequest(seller, region, min_ttl, resources, target)


def _resources(value: object) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RESTRICTED_RESOURCES:
        raise InvalidRequest(f"restricted_resources must be a list of 1 to {MAX_RESTRICTED_RESOURCES} resources")
    parsed = []
    for i, item in enumerate(value):
        where = f"restricted_resources[{i}]"
        if not isinstance(item, Mapping) or set(item) - {"method", "path", "dataElements"}:
            raise InvalidRequest(f"{where} must be an object with method, path and optional dataElements")
        method, path, elements = item.get("method"), item.get("path"), item.get("dataElements", [])
        if method not in RDT_METHODS:
            raise InvalidRequest(f"{where}.method must be one of {', '.join(RDT_METHODS)}")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 1024 or not path.isprintable():
            raise InvalidRequest(f"{where}.path must begin with /")
        if " " in path or "?" in path or "#" in path:
            raise InvalidRequest(f"{where}.path must be a path without query")
        if not isinstance(elements, list) or any(e not in DATA_ELEMENTS for e in elements):
            raise InvalidRequest(f"{where}.dataElements must be among {', '.join(DATA_ELEMENTS)}")
        parsed.append((method, path, tuple(sorted(set(elements)))))
    return tuple(sorted(set(parsed)))


class Vendor:
    """Vends tokens for one configuration; one instance lives per container."""

    def __init__(
        self, config: Config, memory: MemoryCache | None = None, clock: revocations.Clock | None = None
    ) -> None:
        self.config = config
        self.memory = memory or MemoryCache()
        dynamodb = aws.client("dynamodb", SHARED_CACHE_BOTO_CONFIG)
        feed = revocations.RevocationFeed(config.table_name, dynamodb)
        self.revocations = revocations.RevocationWatch(feed.read, config.revocation_bound_seconds, clock)
        # A stored token's item also proves its grant was refreshed; it lives for the sweep's proof window.
        self.shared = SharedCache(
            config.table_name, dynamodb, admit=self._admits, keep_seconds=config.sweep_proof_seconds
        )
        self.budget = LwaBudget.of(config.table_name, dynamodb, config.lwa_rate_per_second)
        # With a budget, a 429 pauses the whole fleet (budget.py) instead of being retried here by urllib3.
        self.lwa = LwaClient(config.lwa_endpoint, config.prefix, retry_throttled=self.budget is None)
        self.regions = RegionTable.of(config)
        self._app_accepted_at: float | None = None

    def vend(self, request: VendRequest) -> dict:
        client_id = appcreds.load(self.config.prefix).client_id
        if request.scope:
            key: tuple = (client_id, "grantless", request.scope)
            token = self._cached(key, request.min_ttl_seconds, functools.partial(self._grantless, request.scope))
            kind = "grantless"
        elif request.restricted_resources:
            digest = _digest([request.restricted_resources, request.target_application])
            key = (client_id, request.region, request.selling_partner_id, "rdt", digest)
            restricted = functools.partial(self._restricted, client_id, request)
            token = self._cached(key, request.min_ttl_seconds, restricted, lwa=False)  # SP-API's, not LWA's
            kind = "restricted"
        else:
            key = access_key(client_id, request.region, request.selling_partner_id)
            fetch = functools.partial(self._refresh, request.region, request.selling_partner_id)
            token = self._cached(key, request.min_ttl_seconds, fetch)
            kind = "access"
        return self._answer(request, token, kind)

    def refresh_grant(self, grant: grants.Grant, *, detected_by: str = "sweep") -> CachedToken:
        """Refresh one grant now, whatever the caches hold (the sweep's check), and warm the caches. Its LWA
        call takes only a slot of the budget that no vend needs (background)."""
        client_id = appcreds.load(self.config.prefix).client_id
        key = access_key(client_id, grant.region, grant.selling_partner_id)
        token = self._exchange(grant, detected_by=detected_by, background=True)
        self.memory.put(key, token)
        try:
            if self.shared.available:
                self.shared.put(key, token)
        except SharedCacheUnavailable:
            count(names.METRIC_SHARED_CACHE_UNAVAILABLE)
        return token

    # -- caching ---------------------------------------------------------------------------------

    def _cached(
        self, key: Hashable, min_ttl: int, fetch: Callable[[], CachedToken], *, lwa: bool = True
    ) -> CachedToken:
        """The token for `key` from memory, the shared cache or `fetch` (`lwa`: fetch calls LWA)."""
        token = self.memory.get(key, min_ttl)
        if token is not None and self._admits(key, token):
            count(names.METRIC_CACHE_HIT_MEMORY)
            return token
        with _held(self.memory.lock(key)):  # single flight inside this container
            token = self.memory.get(key, min_ttl)
            if token is not None and self._admits(key, token):
                count(names.METRIC_CACHE_HIT_MEMORY)
            else:
                self.memory.discard(key)  # void (its grant was flagged) or too short-lived: never served again
                token = self._shared_or_fetch(key, min_ttl, fetch, lwa)
                self.memory.put(key, token)
        return token

    def _admits(self, key: Hashable, token: CachedToken) -> bool:
        """A cached token may be served unless its grant was flagged after it was minted (revocations.py)."""
        grant = _grant_of(key)
        return grant is None or self.revocations.admits(grant, token.minted_at)

    def _shared_or_fetch(self, key: Hashable, min_ttl: int, fetch: Callable[[], CachedToken], lwa: bool) -> CachedToken:
        if self.shared.available:
            try:
                return self._through_lease(key, min_ttl, fetch, lwa)
            except SharedCacheUnavailable:
                pass
        count(names.METRIC_SHARED_CACHE_UNAVAILABLE)
        return _checked(fetch(), min_ttl)

    def _through_lease(self, key: Hashable, min_ttl: int, fetch: Callable[[], CachedToken], lwa: bool) -> CachedToken:
        limit = deadline.current()
        polls = 0
        while True:
            cached = self.shared.get(key)
            if cached is not None and cached.usable(min_ttl):
                count(names.METRIC_CACHE_HIT_SHARED)
                return cached
            # Held for as long as this invocation may work on it, so that no waiter starts a second
            # refresh while the holder's is still running; a holder that dies frees it at its deadline.
            left = limit.remaining()
            owner = self.shared.acquire_lease(key, seconds=None if math.isinf(left) else left)
            if owner is not None:
                try:
                    if lwa and self.budget is not None:
                        self.budget.check()  # known to come too late: refuse before reading anything more
                    cached = self.shared.get(key)  # finished by the previous holder since our read?
                    if cached is not None and cached.usable(min_ttl):
                        count(names.METRIC_CACHE_HIT_SHARED)
                        return cached
                    token = _checked(fetch(), min_ttl)
                    try:
                        self.shared.put(key, token)
                    except (SharedCacheUnavailable, UpstreamUnavailable):
                        count(names.METRIC_SHARED_CACHE_UNAVAILABLE)  # the token is good: answer with it
                    return token
                finally:
                    try:
                        self.shared.release_lease(key, owner)
                    except (SharedCacheUnavailable, UpstreamUnavailable):
                        pass  # it expires on its own, at this invocation's deadline at the latest
            # Someone else holds the lease: wait for their token, but never past this invocation's deadline.
            pause = _POLL_SECONDS[min(polls, len(_POLL_SECONDS) - 1)]
            if limit.remaining() <= pause:
                raise UpstreamUnavailable("another invocation is refreshing this token and has not finished in time")
            time.sleep(pause)
            polls += 1

    # -- what a miss does --------------------------------------------------------------------------

    def _refresh(self, region: str, selling_partner_id: str) -> CachedToken:
        grant = grants.load(self.config.prefix, region, selling_partner_id)
        if grant.status == names.STATUS_REVOKED:
            raise GrantRevoked(f"the grant of {selling_partner_id} in {region} is revoked; re-authorization is needed")
        return self._exchange(grant)

    def _exchange(self, grant: grants.Grant, *, detected_by: str = "vend", background: bool = False) -> CachedToken:
        started = time.time()
        try:
            answer = self._lwa_call(functools.partial(self.lwa.refresh, grant.refresh_token), background)
        except InvalidGrant:
            try:
                lifecycle.flag_revoked(self.config, grant, "invalid_grant", detected_by=detected_by)
                self._forget(grant)
            except Exception as error:  # noqa: BLE001 - LWA's answer stands; the next sweep records it
                logger.warning("revocation not recorded", extra={"error_type": type(error).__name__})
            raise GrantRevoked(
                f"the grant of {grant.selling_partner_id} in {grant.region} was revoked by the seller"
            ) from None
        except ClientUnauthorized:
            # One grant's refresh token may belong to another client id (reference §2): before blaming the
            # application's credentials (and its alarm), ask LWA about the application itself.
            if not self._application_accepted():
                raise AppCredentialsRejected(
                    "LWA answered unauthorized_client to a refresh and to the application's own grantless call"
                ) from None
            try:
                lifecycle.mark_unauthorized(self.config, grant, detected_by=detected_by)
            except Exception as error:  # noqa: BLE001 - LWA's answer stands; the next sweep records it
                logger.warning("grant health not recorded", extra={"error_type": type(error).__name__})
            raise GrantUnauthorized(
                f"LWA refuses the refresh token of {grant.selling_partner_id} in {grant.region} for this application "
                "(unauthorized_client) while accepting the application: the seller must authorize it again"
            ) from None
        count(names.METRIC_LWA_REFRESH)
        if answer.refresh_token and answer.refresh_token != grant.refresh_token:
            grants.replace_refresh_token(self.config.prefix, grant, answer.refresh_token)
        return _token(answer, started)

    def _restricted(self, client_id: str, request: VendRequest) -> CachedToken:
        access = access_key(client_id, request.region, request.selling_partner_id)
        refresh = functools.partial(self._refresh, request.region, request.selling_partner_id)
        resources = [
            {"method": m, "path": p, **({"dataElements": list(e)} if e else {})}
            for m, p, e in request.restricted_resources
        ]
        endpoint = self.regions.spapi_endpoint(request.region)
        for _ in range(2):
            token = self._cached(access, 0, refresh)
            started = time.time()
            try:
                answer = spapi.create_restricted_data_token(
                    endpoint, token.access_token, resources, request.target_application
                )
                return _token(answer, started)
            except spapi.AccessTokenRejected:
                self.memory.evict(lambda k: k == access)
                self._drop_shared(access)
        raise UpstreamUnavailable("SP-API kept rejecting freshly refreshed access tokens")

    def _application_accepted(self) -> bool:
        """Whether LWA accepts the application itself: a grantless call (client_credentials) gets a token, or
        names only the scope (invalid_scope: the client authenticated). An outage raises UpstreamUnavailable."""
        if self._app_accepted_at is not None and time.monotonic() - self._app_accepted_at < APP_CHECK_SECONDS:
            return True
        try:
            self._lwa_call(functools.partial(self.lwa.grantless, GRANTLESS_SCOPES[0]))
        except AppCredentialsRejected:
            return False
        except InvalidRequest:
            pass
        self._app_accepted_at = time.monotonic()
        return True

    def _grantless(self, scope: str) -> CachedToken:
        started = time.time()
        return _token(self._lwa_call(functools.partial(self.lwa.grantless, scope)), started)

    def _lwa_call(self, request: Callable[[], LwaToken], background: bool = False) -> LwaToken:
        """One LWA request, within the fleet's budget when there is one."""
        return request() if self.budget is None else self.budget.call(request, background=background)

    def _forget(self, grant: grants.Grant) -> None:
        # The rest of the fleet learns it through lifecycle.flag_revoked → forget_tokens (the feed).
        seller = (grant.region, grant.selling_partner_id)
        self.memory.evict(lambda k: _grant_of(k) == seller)

    def _drop_shared(self, key: Hashable) -> None:
        try:
            self.shared.delete(key)
        except SharedCacheUnavailable:
            count(names.METRIC_SHARED_CACHE_UNAVAILABLE)

    def _answer(self, request: VendRequest, token: CachedToken, kind: str) -> dict:
        now = time.time()
        return {
            "access_token": token.access_token,
            "token_type": "bearer",
            "kind": kind,
            "expires_at": timestamps.iso_utc(int(token.expires_at)),
            "expires_in": int(token.expires_at - now),
            "selling_partner_id": request.selling_partner_id,
            "region": request.region,
            "endpoint": self.regions.spapi_endpoint(request.region) if request.region else None,
        }


@contextmanager
def _held(lock: threading.Lock) -> Iterator[None]:
    """Take `lock`, waiting no longer than the invocation's deadline."""
    left = deadline.current().remaining()
    if not lock.acquire(timeout=-1 if math.isinf(left) else max(left, 0.0)):
        raise UpstreamUnavailable("another invocation in this container is still fetching this token")
    try:
        yield
    finally:
        lock.release()


def _token(answer: LwaToken, started: float) -> CachedToken:
    # Count the lifetime from before the request: the token is never thought to live longer than it does,
    # nor to be younger than it is (a revocation recorded after `started` voids it).
    return CachedToken(answer.access_token, started + answer.expires_in, minted_at=started)


def _grant_of(key: Hashable) -> tuple[str, str] | None:
    """(region, seller) of a seller token's cache key; None for a grantless token, which no seller can revoke."""
    return key[1:3] if len(key) > 3 else None


def _checked(token: CachedToken, min_ttl: int) -> CachedToken:
    if not token.usable(min_ttl):
        raise UpstreamUnavailable("Amazon issued a token that lives shorter than the requested min_ttl_seconds")
    return token


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]
