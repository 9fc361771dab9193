"""TokenBroker: SP-API access tokens, Restricted Data Tokens and grantless tokens from the broker's vend function.

Each call invokes the vend Lambda (`lambda:InvokeFunction`) unless this process already holds a token for
the same request with enough time left. The broker keeps every refresh token; callers never see one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from sellertoken_client import names
from sellertoken_client.errors import BrokerError, InvalidRequest, from_function_error

DEFAULT_FUNCTION = names.function_name("vend")
ENV_FUNCTION = "SELLERTOKEN_VEND_FUNCTION"
DEFAULT_ENDPOINTS_FILE = Path(".devstack") / "endpoints.json"
CACHE_FLOOR_SECONDS = 60  # never serve a cached token with less than a minute left (the SDKs' skew)
DEFAULT_CACHE_SIZE = 1000
# The vend function may run up to its 30 s timeout (an LWA refresh with retries): wait longer than that.
DEFAULT_BOTO_CONFIG = BotoConfig(
    connect_timeout=5,
    read_timeout=40,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=20,
)


@dataclass(frozen=True)
class Token:
    """One vended token. Its repr never shows the token itself."""

    access_token: str = field(repr=False)
    expires_at: datetime
    endpoint: str | None  # the regional SP-API base URL (None for a grantless token without region)
    region: str | None
    selling_partner_id: str | None
    kind: str  # "access", "restricted" or "grantless"

    @property
    def expires_in(self) -> int:
        """Seconds left now."""
        return int(self.expires_at.timestamp() - time.time())


def checked_selling_partner_id(value: object) -> str:
    """The id itself, if it has one of the two forms the broker accepts; else InvalidRequest, before any call."""
    if not names.is_selling_partner_id(value):
        raise InvalidRequest(names.SELLING_PARTNER_ID_RULE)
    return value  # type: ignore[return-value]


class TokenBroker:
    """Talks to one vend function, named by name or ARN (an alias ARN such as `…:function:name:live` too).

    `lambda_client` replaces the boto3 client this object would create on first use (in the region of the
    function's ARN, else `region_name`, else boto3's chain; at `endpoint_url` if given). `min_ttl_seconds`
    is the least lifetime every token handed out must still have; a call may ask for more.
    """

    def __init__(
        self,
        function: str = DEFAULT_FUNCTION,
        *,
        lambda_client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        min_ttl_seconds: int = 0,
        cache_size: int = DEFAULT_CACHE_SIZE,
        boto_config: BotoConfig | None = None,
    ) -> None:
        if not isinstance(function, str) or not function:
            raise ValueError("function must be the vend function's name or ARN")
        self.function = function
        self.min_ttl_seconds = _min_ttl(min_ttl_seconds)
        self._client = lambda_client
        self._region_name = region_name or _arn_region(function)
        self._endpoint_url = endpoint_url
        self._boto_config = boto_config or DEFAULT_BOTO_CONFIG
        self._cache = _LruCache(cache_size)
        self._client_lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self._inflight_guard = threading.Lock()
        self._clock = time.time

    @classmethod
    def for_local_stack(
        cls, endpoints: str | Path | Mapping[str, Any] = DEFAULT_ENDPOINTS_FILE, function: str = "vend", **options: Any
    ) -> TokenBroker:
        """A broker on the local stack (`make run`), from its endpoints.json (a path or its parsed content)."""
        if not isinstance(endpoints, Mapping):
            endpoints = json.loads(Path(endpoints).read_text())
        try:
            lambda_url, name, region = endpoints["lambda"], endpoints["functions"][function], endpoints["region"]
        except (KeyError, TypeError):
            raise ValueError(f"the endpoints file names no Lambda endpoint or no {function!r} function") from None
        # The local endpoint checks no signature, but botocore needs some credentials to sign with.
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)
        config = options.pop("boto_config", DEFAULT_BOTO_CONFIG)
        client = session.client("lambda", endpoint_url=lambda_url, config=config)
        return cls(name, lambda_client=client, **options)

    @property
    def lambda_client(self) -> Any:
        """The boto3 Lambda client, created on first use."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    session = boto3.session.Session(region_name=self._region_name)
                    self._client = session.client("lambda", endpoint_url=self._endpoint_url, config=self._boto_config)
        return self._client

    # -- the three calls ----------------------------------------------------------------------------

    def get_access_token(self, selling_partner_id: str, region: str, *, min_ttl_seconds: int = 0) -> Token:
        """An LWA access token for the seller's grant in `region` ("na", "eu" or "fe")."""
        checked_selling_partner_id(selling_partner_id)
        payload = {"selling_partner_id": selling_partner_id, "region": region}
        return self._token(("access", selling_partner_id, region), payload, min_ttl_seconds)

    def get_restricted_data_token(
        self,
        selling_partner_id: str,
        region: str,
        restricted_resources: Sequence[Mapping[str, Any]],
        target_application: str | None = None,
    ) -> Token:
        """A Restricted Data Token for `restricted_resources` ([{"method", "path", "dataElements"?}, …])."""
        checked_selling_partner_id(selling_partner_id)
        resources = [dict(resource) for resource in restricted_resources]
        payload: dict[str, Any] = {
            "selling_partner_id": selling_partner_id,
            "region": region,
            "restricted_resources": resources,
        }
        if target_application is not None:
            payload["target_application"] = target_application
        canonical = json.dumps(sorted(json.dumps(r, sort_keys=True) for r in resources))
        return self._token(("restricted", selling_partner_id, region, canonical, target_application), payload, 0)

    def get_grantless_token(self, scope: str, region: str | None = None) -> Token:
        """A grantless token (e.g. scope "sellingpartnerapi::notifications"); no seller involved."""
        payload: dict[str, Any] = {"scope": scope}
        if region is not None:
            payload["region"] = region
        return self._token(("grantless", scope, region), payload, 0)

    def vend(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Invoke the vend function once with `payload`, bypassing the cache; returns its answer as is."""
        try:
            response = self.lambda_client.invoke(
                FunctionName=self.function,
                InvocationType="RequestResponse",
                Payload=json.dumps(dict(payload)).encode(),
            )
            body = response["Payload"].read()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "ClientError")
            message = f"{error.get('Message') or 'the invoke failed'} (invoking {self.function})"
            raise BrokerError(message, error_type=code) from None
        except BotoCoreError as exc:
            raise BrokerError(f"{exc} (invoking {self.function})", error_type=type(exc).__name__) from None
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if response.get("FunctionError"):
            raise from_function_error(document)
        if not isinstance(document, dict):
            raise BrokerError(f"{self.function} answered something other than a JSON object", error_type="BadAnswer")
        return document

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- caching --------------------------------------------------------------------------------------

    def _token(self, key: Hashable, payload: dict[str, Any], min_ttl_seconds: int) -> Token:
        min_ttl = max(self.min_ttl_seconds, _min_ttl(min_ttl_seconds))
        least = max(CACHE_FLOOR_SECONDS, min_ttl)
        token = self._cache.get(key, self._clock() + least)
        if token is not None:
            return token
        with self._inflight_guard:  # one invoke per key at a time: concurrent misses wait for it
            lock = self._inflight.setdefault(key, threading.Lock())
        try:
            with lock:
                token = self._cache.get(key, self._clock() + least)
                if token is None:
                    if min_ttl:
                        payload = {**payload, "min_ttl_seconds": min_ttl}
                    sent_at = self._clock()
                    token, deadline = _parse(self.vend(payload), sent_at, self.function)
                    self._cache.put(key, token, deadline)
        finally:
            with self._inflight_guard:
                if self._inflight.get(key) is lock and not lock.locked():
                    del self._inflight[key]
        return token


class _LruCache:
    """Tokens by request key with their deadline (epoch seconds), least recently used dropped first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("cache_size must be at least 1")
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Token, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, needed_until: float) -> Token | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] < needed_until:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, token: Token, deadline: float) -> None:
        with self._lock:
            self._entries[key] = (token, deadline)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _parse(answer: dict[str, Any], sent_at: float, function: str) -> tuple[Token, float]:
    """The token and the moment it stops being servable: the earlier of the broker's expires_at and
    sent_at + expires_in, so that neither this host's clock skew nor the invoke's latency overstates it."""
    try:
        access_token, kind = answer["access_token"], answer["kind"]
        expires_at = datetime.fromisoformat(answer["expires_at"]).astimezone(UTC)
        expires_in = int(answer["expires_in"])
        if not isinstance(access_token, str) or not access_token or not isinstance(kind, str):
            raise TypeError
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BrokerError(f"{function} answered without a usable token", error_type="BadAnswer") from None
    token = Token(
        access_token=access_token,
        expires_at=expires_at,
        endpoint=answer.get("endpoint"),
        region=answer.get("region"),
        selling_partner_id=answer.get("selling_partner_id"),
        kind=kind,
    )
    return token, min(expires_at.timestamp(), sent_at + expires_in)


def _min_ttl(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest("min_ttl_seconds must be a non-negative integer")
    return value


def _arn_region(function: str) -> str | None:
    parts = function.split(":")
    return parts[3] if len(parts) >= 7 and parts[0] == "arn" and parts[3] else None


_default: TokenBroker | None = None
_default_lock = threading.Lock()


def default_broker() -> TokenBroker:
    """The process-wide broker; its function is $SELLERTOKEN_VEND_FUNCTION (name or ARN), else sellertoken-vend."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TokenBroker(os.environ.get(ENV_FUNCTION) or DEFAULT_FUNCTION)
    return _default


def get_access_token(selling_partner_id: str, region: str, *, min_ttl_seconds: int = 0) -> Token:
    """`default_broker().get_access_token(…)`."""
    return default_broker().get_access_token(selling_partner_id, region, min_ttl_seconds=min_ttl_seconds)
