"""Selling Partner API calls the broker makes itself: createRestrictedDataToken (Tokens API 2021-03-01).

What an answer becomes: 5xx, 429 or no answer in time: UpstreamUnavailable; 403 naming the access token:
AccessTokenRejected (the caller refreshes and retries once); 403 "The LWA secret token you provided has
expired.": AppCredentialsRejected (reference §3: the application's credentials, not the request); any
other 400 or 403: InvalidRequest (Amazon refuses these resources, or the application has no role for
them); any other 4xx: BrokerFault (the broker's endpoint or request is wrong).
"""

from __future__ import annotations

from sellertoken import httpclient
from sellertoken.errors import AppCredentialsRejected, BrokerFault, InvalidRequest, UpstreamUnavailable, echo
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
            timeout=httpclient.timeout(),
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
    if status == 200:
        raise UpstreamUnavailable("SP-API answered 200 without a Restricted Data Token")
    error = _first_error(payload)
    details = error.get("details", "")
    if status == 403 and "access token" in details:
        raise AccessTokenRejected
    if status == 403 and "LWA secret" in details:
        raise AppCredentialsRejected("SP-API says the application's LWA client secret has expired")
    message = f"SP-API refused the Restricted Data Token ({status} {echo(error.get('code', 'unknown'))})"
    if error.get("message"):
        message += f": {echo(error['message'], 200)}"
    if status not in (400, 403):
        raise BrokerFault(message)
    raise InvalidRequest(message)


def _first_error(payload: object) -> dict:
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        if isinstance(first, dict):
            return {k: str(v) for k, v in first.items()}
    return {}
