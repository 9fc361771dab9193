"""Login with Amazon token endpoint client: the three grants, typed errors, bounded retries.

Retries (urllib3) happen only on connection errors, 429 and 5xx, never on a 4xx, and never past the
invocation's deadline. The code exchange does not retry a read timeout: the one-time code may
already be spent.

What each LWA error code becomes (the codes Amazon's SDKs know: reference §2 "Error codes"; the reasons
are in docs/faults.md):
- `invalid_grant`: InvalidGrant, for the caller to decide (a refresh flags the grant revoked; a code
  exchange shows "authorization expired").
- `invalid_client`: InvalidClient, an AppCredentialsRejected (our client id or secret). Before that, every
  request re-reads `{prefix}/app` at once and tries the app's other secret once: the current one if the
  rejected one was a cached old one, the previous one while a rotation's 7-day overlap lasts.
- `unauthorized_client`: ClientUnauthorized, an AppCredentialsRejected; on a refresh it can be one grant's
  (a refresh token of another client id, reference §2), so vending.py asks LWA about the application itself.
- `server_error`, `temporarily_unavailable`, any 5xx or 429: UpstreamUnavailable (the SDKs retry these); a 429
  is LwaThrottled, which carries LWA's Retry-After for the fleet's budget (budget.py).
- `invalid_scope` on a grantless request: InvalidRequest (the caller chose the scope).
- anything else (`invalid_request`, `unsupported_grant_type`, `access_denied`, `invalid_scope` where we
  send no scope, unknown codes): LwaError, a BrokerFault. Never a revocation, and a retry will not help.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sellertoken import appcreds, httpclient
from sellertoken.errors import (
    AppCredentialsRejected,
    ClientUnauthorized,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    LwaError,
    UpstreamUnavailable,
    echo,
)
from sellertoken.observability import logger

if TYPE_CHECKING:  # requests loads with the first call to LWA (httpclient.session), not at cold start
    import requests

DEFAULT_EXPIRES_IN = 3600
MAX_TOKEN_BYTES = 2048
_TRANSIENT = ("server_error", "temporarily_unavailable")
GRANTLESS_SCOPES = ("sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation")


class LwaThrottled(UpstreamUnavailable):
    """LWA answered 429. Reaches a caller as UpstreamUnavailable; `retry_after` is LWA's Retry-After in seconds
    (None when it sent none), which the fleet's budget honours."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("LWA answered 429 (throttled)")
        self.retry_after = retry_after


@dataclass(frozen=True, repr=False)
class LwaToken:
    access_token: str
    expires_in: int
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never print a token
        return f"LwaToken(expires_in={self.expires_in})"


class LwaClient:
    """Talks to one LWA token endpoint on behalf of the app whose credentials live under `prefix`."""

    def __init__(self, endpoint: str, prefix: str, *, retry_throttled: bool = True) -> None:
        self.endpoint = endpoint
        self.prefix = prefix
        # False: a 429 is raised at once (LwaThrottled) for the fleet's budget to pause and retry, not urllib3.
        self.retry_throttled = retry_throttled

    def exchange_code(self, code: str, redirect_uri: str) -> LwaToken:
        """authorization_code grant. The answer must carry a refresh token to count as a grant."""
        token = self._request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            retry_reads=False,
        )
        if not _usable(token.refresh_token):
            raise UpstreamUnavailable("LWA answered the code exchange without a usable refresh token")
        return token

    def refresh(self, refresh_token: str) -> LwaToken:
        """refresh_token grant (no scope is sent, as Amazon asks)."""
        return self._request({"grant_type": "refresh_token", "refresh_token": refresh_token}, retry_reads=True)

    def grantless(self, scope: str) -> LwaToken:
        """client_credentials grant for one of Amazon's grantless scopes."""
        return self._request({"grant_type": "client_credentials", "scope": scope}, retry_reads=True)

    def authenticates(self, client_id: str, client_secret: str) -> None:
        """Raises InvalidClient unless LWA accepts this client secret (a grantless request made with it alone;
        a refusal of the scope or the grant still means LWA knew the client)."""
        try:
            self._post(
                {"grant_type": "client_credentials", "scope": GRANTLESS_SCOPES[0]}, client_id, client_secret, True
            )
        except InvalidClient:
            raise
        except (AppCredentialsRejected, InvalidRequest, LwaError):
            return

    def _request(self, form: dict[str, str], *, retry_reads: bool) -> LwaToken:
        cached = appcreds.load(self.prefix)
        try:
            return self._post(form, cached.client_id, cached.client_secret, retry_reads)
        except AppCredentialsRejected as rejected:
            # The secret may have changed since we cached it, or a rotation may be under way: read the app
            # secret again at once and try what else it holds, once each (never the rejected pair again).
            fresh = appcreds.load(self.prefix, force=True)
            untried = _same_client(fresh, cached, fresh.secrets_after_rejection(cached.client_secret, time.time()))
            if not untried or (not isinstance(rejected, InvalidClient) and fresh == cached):
                raise
        for secret in untried[:-1]:
            try:
                return self._retry_with(form, fresh, secret, retry_reads)
            except InvalidClient:
                continue
        return self._retry_with(form, fresh, untried[-1], retry_reads)

    def _retry_with(
        self, form: dict[str, str], creds: appcreds.AppCredentials, secret: str, retry_reads: bool
    ) -> LwaToken:
        token = self._post(form, creds.client_id, secret, retry_reads)
        which = "current" if secret == creds.client_secret else "previous"
        logger.info("LWA accepted the app's other client secret", extra={"secret_used": which})
        return token

    def _post(self, form: dict[str, str], client_id: str, client_secret: str, retry_reads: bool) -> LwaToken:
        import requests  # for the except clause below; httpclient.session() loads it

        body = {**form, "client_id": client_id, "client_secret": client_secret}
        try:
            response = httpclient.session(retry_reads=retry_reads, retry_throttled=self.retry_throttled).post(
                self.endpoint,
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                timeout=httpclient.timeout(),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # The exception text may echo the request; keep only its type.
            raise UpstreamUnavailable(f"LWA unreachable ({type(exc).__name__})") from None
        return _parse(response, form["grant_type"])


def _same_client(fresh: appcreds.AppCredentials, cached: appcreds.AppCredentials, secrets: list[str]) -> list[str]:
    """The secrets to try with the fresh client id: when the id itself changed, its current secret too."""
    if fresh.client_id != cached.client_id and fresh.client_secret not in secrets:
        return [fresh.client_secret, *secrets]
    return secrets


def _parse(response: requests.Response, grant_type: str) -> LwaToken:
    status = response.status_code
    if status == 429:
        raise LwaThrottled(_retry_after(response.headers.get("Retry-After")))
    if status in httpclient.RETRY_STATUSES or status >= 500:
        raise UpstreamUnavailable(f"LWA answered {status} after retries")
    try:
        payload = response.json()
    except ValueError:
        raise UpstreamUnavailable(f"LWA answered {status} with a body that is not JSON") from None
    if not isinstance(payload, dict):
        raise UpstreamUnavailable(f"LWA answered {status} with an unexpected body")
    if status != 200:
        code = echo(str(payload.get("error") or "unknown_error"))
        if code == "invalid_grant":
            raise InvalidGrant(status)
        if code == "invalid_client":
            raise InvalidClient(f"LWA answered {status} {code}: the app's client id or secret is wrong")
        if code == "unauthorized_client":
            raise ClientUnauthorized(f"LWA answered {status} {code}: not authorized for this request")
        if code in _TRANSIENT:
            raise UpstreamUnavailable(f"LWA answered {status} {code}")
        if code == "invalid_scope" and grant_type == "client_credentials":
            raise InvalidRequest(f"LWA refused the scope for this application ({status} {code})")
        raise LwaError(code, status)
    access_token = payload.get("access_token")
    if not _usable(access_token):
        raise UpstreamUnavailable("LWA answered 200 without a usable access token")
    refresh_token = payload.get("refresh_token")
    return LwaToken(
        access_token=access_token,
        expires_in=_expires_in(payload.get("expires_in")),
        refresh_token=refresh_token if _usable(refresh_token) else None,
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date, RFC 9110 §10.2.3); None if absent or unreadable."""
    if not value:
        return None
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    try:
        return max(0.0, Retry().parse_retry_after(value))
    except (InvalidHeader, ValueError, OverflowError):
        return None


def _usable(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token.encode()) <= MAX_TOKEN_BYTES and token.isprintable()


def _expires_in(value: object) -> int:
    # A missing or odd expiry must never mean "never expires" (Nango PR #6763): fall back to 1 hour.
    try:
        seconds = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if 0 < seconds <= 86400 else DEFAULT_EXPIRES_IN
