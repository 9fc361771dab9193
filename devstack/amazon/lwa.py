"""Login with Amazon's token endpoint: authorization codes, refresh tokens and grantless tokens
(reference §2), and the rate limit LWA enforces with 429. State in world.py.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon.wire import TOKEN_HEADERS, json_response, lwa_error
from devstack.amazon.world import World

TOKEN_PATH = "/auth/o2/token"
GRANTLESS_SCOPES = frozenset({"sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"})

_INVALID_GRANT_CODE = "The request has an invalid grant parameter : code"
_INVALID_GRANT_REFRESH = (
    "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission."
)


class RateLimit:
    """LWA's throttling of the token endpoint: a token bucket of `per_second` with `burst` (every grant type).

    Amazon publishes no limit for `api.amazon.com/auth/o2/token` and SP-API users report intermittent failures
    under load ("Error getting LWA Access Token", models#1629, models#201; reference §2 "LWA rate limits:
    UNCONFIRMED"). Inferred: a token bucket like SP-API's own usage plans (rate and burst, `x-amzn-RateLimit-Limit`
    in sellers.json); a request above it gets HTTP 429 with LWA's error body (reference §2 body format), code
    `server_error` as the simulator's 429 fault answers; `Retry-After` only when asked for (RFC 6585 §4 allows it;
    whether LWA sends one is unknown)."""

    # inferred(lwa.rate-limit): a token bucket over every grant type, 429 with LWA's error body above it, and a
    # Retry-After only when asked for (Amazon publishes no LWA limit; reference §2 "LWA rate limits")
    def __init__(self, per_second: float, burst: int | None, retry_after: bool, clock: Callable[[], float]) -> None:
        if isinstance(per_second, bool) or not isinstance(per_second, int | float) or not 0 < per_second <= 100_000:
            raise ValueError("per_second must be a number of requests per second above 0")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
            raise ValueError("burst must be a positive integer")
        self.per_second = float(per_second)
        self.burst = burst if burst is not None else max(1, math.ceil(per_second))  # one second's worth
        self.retry_after = bool(retry_after)
        self._clock = clock
        self._tokens = float(self.burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float | None:
        """None when the request may go; else the seconds until it could."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.per_second

    def describe(self) -> dict[str, Any]:
        return {"per_second": self.per_second, "burst": self.burst, "retry_after": self.retry_after}


class Lwa:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {TOKEN_PATH: {"POST": self.token}}

    def token(self, request: Request) -> Response:
        response = self._token_response(request)
        if response.status_code != 200:
            self.world.count("token.error")
        return response

    def _token_response(self, request: Request) -> Response:
        params: Any = request.get_json(silent=True) if request.mimetype == "application/json" else request.form
        grant_type = params.get("grant_type") if isinstance(params, dict) else None
        if grant_type in ("authorization_code", "refresh_token", "client_credentials"):
            self.world.count(f"token.{grant_type}")
        limit = self.world.lwa_rate_limit
        wait = limit.take() if limit is not None else None
        if wait is not None:
            self.world.count("token.throttled")
            throttled = lwa_error(429, "server_error", "Rate exceeded.")
            if limit.retry_after:
                throttled.headers["Retry-After"] = str(max(1, math.ceil(wait)))  # delta-seconds (RFC 9110 §10.2.3)
            return throttled
        status, error, _ = self.world.faults.answer("token")
        if status is not None:
            if error is not None:
                # Any code the SDKs know (reference §2 "Error codes", MODELS LWAExceptionErrorCode) or one they do not.
                return lwa_error(status, error, "The request was refused.")
            # source(lwa.transient): server_error and temporarily_unavailable are LWA's transient codes (MODELS
            # LwaRequest.py is_retriable); inferred(lwa.fault-texts): their descriptions, and 429's code
            if status == 503:
                return lwa_error(503, "temporarily_unavailable", "The service is temporarily unavailable.")
            if status == 429:
                return lwa_error(429, "server_error", "Rate exceeded.")
            return lwa_error(status, "server_error", "The server encountered an internal error.")

        # source(lwa.grants): POST /auth/o2/token, form-encoded (DEVGUIDE-2021, SAMPLES) or JSON (MODELS LWAClient.java,
        # LWAClient.cs), with these fields per grant type; a missing one is invalid_request and another grant type
        # unsupported_grant_type (RFC 6749 §5.2); the descriptions' wording is inferred
        required = {
            "authorization_code": ("code", "redirect_uri", "client_id", "client_secret"),
            "refresh_token": ("refresh_token", "client_id", "client_secret"),
            "client_credentials": ("client_id", "client_secret"),
        }
        if not isinstance(params, dict):
            return lwa_error(400, "invalid_request", "The request body is not valid JSON.")
        if not isinstance(grant_type, str) or not grant_type:
            return lwa_error(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type not in required:
            return lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        for name in required[grant_type]:
            value = params.get(name)
            if not isinstance(value, str) or not value:
                return lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")

        # source(lwa.invalid-client): 401 invalid_client "Client authentication failed" for a wrong or expired client
        # id or secret (jlevers/selling-partner-api#595, docs#3030)
        if not self.world.client_authenticates(params["client_id"], params["client_secret"]):
            self.world.count("token.invalid_client")
            return lwa_error(401, "invalid_client", "Client authentication failed")

        if grant_type == "authorization_code":
            return self._exchange_code(params["code"], params["redirect_uri"])
        if grant_type == "refresh_token":
            return self._refresh_grant(params["refresh_token"])
        return self._client_credentials(params.get("scope"))

    def _exchange_code(self, code: str, redirect_uri: str) -> Response:
        seller = self.world.redeem_code(code, redirect_uri)
        if seller is None:
            # source(lwa.invalid-grant-code): 400 invalid_grant "…: code" for an expired, used or mismatched code
            # (docs#268, models#4112)
            return lwa_error(400, "invalid_grant", _INVALID_GRANT_CODE)
        return self._bearer(seller, self.world.new_refresh_token(seller))

    def _refresh_grant(self, refresh_token: str) -> Response:
        used = self.world.use_refresh_token(refresh_token)
        if used is None:
            # source(lwa.invalid-grant-refresh): 400 invalid_grant "…: refresh_token. User may have revoked or didn't
            # grant the permission." (docs#2379, models#2840)
            return lwa_error(400, "invalid_grant", _INVALID_GRANT_REFRESH)
        if self.world.client_mismatch(refresh_token):
            # source(lwa.unauthorized-client): models#1891 ("Not authorized for requested operation"); that one grant's
            # refresh token can cause it (a token of another client id) is reported, not documented (reference §2)
            return lwa_error(400, "unauthorized_client", "Not authorized for requested operation")
        return self._bearer(*used)

    def _bearer(self, seller: str, refresh_token: str) -> Response:
        ttl = self.world.access_token_ttl_seconds
        access = self.world.issue_access("Atza|", "seller", seller, ttl)
        body = {"access_token": access, "refresh_token": refresh_token, "token_type": "bearer", "expires_in": ttl}
        return json_response(body, 200, TOKEN_HEADERS)

    def _client_credentials(self, scope: Any) -> Response:
        scopes = scope.split() if isinstance(scope, str) else []
        # source(lwa.grantless): client_credentials with a grantless scope (notifications, client_credential:rotation;
        # DEVGUIDE-2021 "Grantless operations", MODELS application_2023-11-30.json); another scope is invalid_scope
        # (the SDKs' LWAExceptionErrorCode)
        if not scopes or not set(scopes) <= GRANTLESS_SCOPES:
            return lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
        ttl = self.world.access_token_ttl_seconds
        access = self.world.issue_access("Atc|", "grantless", None, ttl, scopes=scopes)
        return json_response(
            {"access_token": access, "scope": scope, "token_type": "bearer", "expires_in": ttl}, 200, TOKEN_HEADERS
        )
