"""Login with Amazon token endpoint client: the three grants, typed errors, bounded retries.

Retries (urllib3) happen only on connection errors, 429 and 5xx, never on a 4xx, and never past the
invocation's deadline. The code exchange does not retry a read timeout: the one-time code may
already be spent.

What each LWA error code becomes (the codes Amazon's SDKs know: reference §2 "Error codes"; the reasons
are in docs/faults.md):
- `invalid_grant`: InvalidGrant, for the caller to decide (a refresh flags the grant revoked; a code
  exchange shows "authorization expired").
- `invalid_client`, `unauthorized_client`: AppCredentialsRejected (our client id or secret).
- `server_error`, `temporarily_unavailable`, any 5xx or 429: UpstreamUnavailable (the SDKs retry these); a 429
  is LwaThrottled, which carries LWA's Retry-After for the fleet's budget (budget.py).
- `invalid_scope` on a grantless request: InvalidRequest (the caller chose the scope).
- anything else (`invalid_request`, `unsupported_grant_type`, `access_denied`, `invalid_scope` where we
  send no scope, unknown codes): LwaError, a BrokerFault. Never a revocation, and a retry will not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sellertoken import appcreds, httpclient
from sellertoken.errors import (
    AppCredentialsRejected,
    InvalidGrant,
    InvalidRequest,
    LwaError,
    UpstreamUnavailable,
    echo,
)

if TYPE_CHECKING:  # requests loads with the first call to LWA (httpclient.session), not at cold start
    import requests

DEFAULT_EXPIRES_IN = 3600
MAX_TOKEN_BYTES = 2048
_RETRY_STATUSES = httpclient.RETRY_STATUSES
_REJECTED_CLIENT = ("invalid_client", "unauthorized_client")
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


def reset() -> None:
    httpclient.reset()


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

    def _request(self, form: dict[str, str], *, retry_reads: bool) -> LwaToken:
        cached = appcreds.load(self.prefix)
        try:
            return self._post(form, cached, retry_reads)
        except AppCredentialsRejected:
            # The secret may have been rotated since we cached it: read it again, retry only if it changed.
            fresh = appcreds.load(self.prefix, force=True)
            if fresh == cached:
                raise
            return self._post(form, fresh, retry_reads)

    def _post(self, form: dict[str, str], creds: appcreds.AppCredentials, retry_reads: bool) -> LwaToken:
        import requests  # for the except clause below; httpclient.session() loads it

        body = {**form, "client_id": creds.client_id, "client_secret": creds.client_secret}
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


def _parse(response: requests.Response, grant_type: str) -> LwaToken:
    status = response.status_code
    if status == 429:
        raise LwaThrottled(_retry_after(response.headers.get("Retry-After")))
    if status in _RETRY_STATUSES or status >= 500:
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
        if code in _REJECTED_CLIENT:
            raise AppCredentialsRejected(f"LWA answered {status} {code}: the app's client id or secret is wrong")
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
