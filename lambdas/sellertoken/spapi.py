"""Selling Partner API calls the broker makes itself: createRestrictedDataToken (Tokens API 2021-03-01)."""

from __future__ import annotations

from sellertoken import httpclient
from sellertoken.errors import InvalidRequest, UpstreamUnavailable
from sellertoken.lwa import DEFAULT_EXPIRES_IN, LwaToken

RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"


class AccessTokenRejected(Exception):
    """SP-API said the access token we sent is expired or revoked: the caller drops it, refreshes (which
    tells a revoked grant from an expired token through LWA) and retries once."""


def create_restricted_data_token(
    endpoint: str, access_token: str, resources: list[dict], target_application: str | None
) -> LwaToken:
    import requests  # loaded with the first call to Amazon, not at cold start (httpclient.session)

    body: dict = {"restrictedResources": resources}
    if target_application:
        body["targetApplication"] = target_application
    try:
        response = httpclient.session(retry_reads=True).post(
            endpoint + RDT_PATH,
            json=body,
            headers={"x-amz-access-token": access_token, "accept": "application/json"},
            timeout=httpclient.TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"SP-API unreachable ({type(exc).__name__})") from None
    status = response.status_code
    if status >= 500 or status == 429:
        raise UpstreamUnavailable(f"SP-API answered {status} to createRestrictedDataToken after retries")
    try:
        payload = response.json()
    except ValueError:
        raise UpstreamUnavailable(f"SP-API answered {status} with a body that is not JSON") from None
    if status == 200 and isinstance(payload, dict) and isinstance(payload.get("restrictedDataToken"), str):
        expires_in = payload.get("expiresIn")
        return LwaToken(
            access_token=payload["restrictedDataToken"],
            expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else DEFAULT_EXPIRES_IN,
        )
    error = _first_error(payload)
    if status == 403 and "access token" in error.get("details", ""):
        raise AccessTokenRejected
    message = f"SP-API refused the Restricted Data Token ({status} {error.get('code', 'unknown')})"
    if error.get("message"):
        message += f": {str(error['message'])[:200]}"
    raise InvalidRequest(message)


def _first_error(payload: object) -> dict:
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        if isinstance(first, dict):
            return {k: str(v) for k, v in first.items()}
    return {}
