"""Selling Partner API for Application Management (2023-11-30): rotateApplicationClientSecret.

The call is grantless (scope `sellingpartnerapi::client_credential:rotation`) and not idempotent: each
success makes Amazon issue a new client secret, sent to the SQS queue registered in the Developer Console,
and start the old one's 7-day countdown. So it is never repeated by the HTTP layer once Amazon answered
(no read or status retries; only a connection that never reached Amazon is tried again).

What an answer becomes (MODELS application_2023-11-30.json; reference §4):
- 204: Amazon accepted; the new secret comes by the queue.
- 400 (`InvalidInput`, "Application is not enrolled for rotation notification…"), 429 (0.0167 requests per
  second, burst 1), any other 4xx: RotationRefused, with Amazon's code; nothing changed at Amazon.
- 403 "The LWA secret token you provided has expired.": AppCredentialsRejected (the secret is past its
  180-day deadline; only the Solution Provider Portal can issue a new one).
- 5xx, or no answer in time: RotationUnconfirmed: Amazon may or may not have made a new secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from sellertoken import httpclient
from sellertoken.errors import AppCredentialsRejected, SellerTokenError, echo

ROTATION_PATH = "/applications/2023-11-30/clientSecret"
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
NOT_ENROLLED = "not_enrolled"  # 400 InvalidInput: no queue registered for the new secret
THROTTLED = "throttled"
REFUSED = "refused"


class RotationRefused(SellerTokenError):
    """Amazon refused the rotation; the app's secret is unchanged."""

    def __init__(self, reason: str, status: int, code: str) -> None:
        super().__init__(f"Amazon refused the rotation: {status} {code} ({reason})")
        self.reason = reason
        self.status = status
        self.code = code


class RotationUnconfirmed(SellerTokenError):
    """Amazon did not say whether it rotated (5xx, or no answer): a new secret may still come by the queue."""


@dataclass(frozen=True)
class Accepted:
    request_id: str | None


def rotate_client_secret(endpoint: str, access_token: str) -> Accepted:
    """Ask Amazon for a new client secret, once."""
    import requests  # loaded with the first call to Amazon, not at cold start (httpclient.session)

    try:
        response = httpclient.session(retry_reads=False, retry_statuses=False).post(
            endpoint + ROTATION_PATH,
            headers={"x-amz-access-token": access_token, "accept": "application/json"},
            timeout=httpclient.timeout(),
            allow_redirects=False,
        )
    except requests.RequestException as exc:  # a reset or a timeout may come after Amazon got the request
        raise RotationUnconfirmed(f"SP-API did not answer the rotation ({type(exc).__name__})") from None
    status = response.status_code
    if status == 204:
        return Accepted(response.headers.get("x-amzn-RequestId"))
    if status >= 500:
        raise RotationUnconfirmed(f"SP-API answered {status} to the rotation")
    error = _first_error(response)
    code = echo(error.get("code") or "unknown")
    if status == 403 and "LWA secret" in error.get("details", ""):
        raise AppCredentialsRejected("SP-API says the application's LWA client secret has expired")
    if status == 429:
        raise RotationRefused(THROTTLED, status, code)
    if status == 400 and code == "InvalidInput":
        raise RotationRefused(NOT_ENROLLED, status, code)
    raise RotationRefused(REFUSED, status, code)


def _first_error(response) -> dict[str, str]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        if isinstance(first, dict):
            return {k: str(v) for k, v in first.items()}
    return {}
