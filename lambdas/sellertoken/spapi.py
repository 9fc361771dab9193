"""Selling Partner API calls the broker makes itself: createRestrictedDataToken (Tokens API 2021-03-01).

What an answer becomes (SP-API's 403 texts: reference §3):
- 5xx, 429 (after honouring Retry-After within the deadline, httpclient.py) or no answer: UpstreamUnavailable;
- 403 "The access token you provided has expired." / "… is revoked, malformed or invalid.":
  AccessTokenRejected (the caller refreshes and retries once);
- 403 "The LWA secret token you provided has expired.": AppCredentialsRejected (the application's client
  secret, reported while LWA still issues tokens; models#4489), which the vend function counts for its alarm;
- 403 "Access token is missing in the request header.": BrokerFault (the broker sent none: its own bug);
- 403 with empty details: InvalidRequest (the application has no role for these resources, or the grant's
  token was sent to another region's endpoint; models#4825, docs#173, docs#830);
- 400 (e.g. InvalidInput "Application does not have access to one or more requested data elements: […]",
  docs#1201): InvalidRequest carrying Amazon's message;
- any other 4xx: BrokerFault (the broker's endpoint or request is wrong).
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
    details = error.get("details", "").lower()
    message = f"SP-API refused the Restricted Data Token ({status} {echo(error.get('code', 'unknown'))})"
    if status == 403:
        if "access token you provided" in details:
            raise AccessTokenRejected
        if "lwa secret token" in details:
            raise AppCredentialsRejected("SP-API says the application's LWA client secret has expired")
        if "access token is missing" in details:
            raise BrokerFault(f"{message}: the broker sent no access token")
        if not details:
            raise InvalidRequest(
                f"{message}: the application has no role for these resources, or the grant belongs to another region"
            )
    if error.get("message"):
        message += f": {echo(error['message'], 200)}"
    if error.get("details"):
        message += f" ({echo(error['details'], 120)})"
    if status not in (400, 403):
        raise BrokerFault(message)
    raise InvalidRequest(message)


def _first_error(payload: object) -> dict:
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        if isinstance(first, dict):
            return {k: str(v) for k, v in first.items()}
    return {}
