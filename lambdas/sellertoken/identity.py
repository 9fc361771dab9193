"""Which Amazon account a token belongs to, as far as Amazon shows it: the Sellers API's view.

LWA's token answer does not name the selling partner, and the `selling_partner_id` on Amazon's redirect
passes through the browser. The only account data SP-API shows any seller token is
getMarketplaceParticipations (`GET /sellers/v1/marketplaceParticipations`; it needs one of the roles listed
on developer-docs.amazon.com/sp-api/docs/sellers-api, e.g. Product Listing): per marketplace its id, the
participation flags and the seller's `storeName` (models/sellers-api-model/sellers.json). Two tokens whose
views differ belong to different accounts. getAccount (`/sellers/v1/account`) is not used: it is
documented for EU sellers only and returns the business's address and primary contact, personal data
the broker has no use for. Vendors have no Sellers API and get no view.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"
# The callback waits for this: one quick try, no retry on a status (0.016 rps, burst 15: a 429 does not
# clear within a consent, and a 5xx is answered with "try again" anyway).
TIMEOUT = (1.0, 3.0)  # connect, read (seconds)

# Why a token's account could not be seen.
NO_ROLE = "no_role"  # 403 without details: the app lacks the role, or the token is not for this region
UNAVAILABLE = "unavailable"  # 5xx, 429, timeout, connection error, a body that is not the documented one


@dataclass(frozen=True)
class View:
    """An account as getMarketplaceParticipations shows it: its marketplaces and store names, sorted."""

    marketplaces: tuple[str, ...]
    store_names: tuple[str, ...]

    def fingerprint(self) -> str:
        """What the grant keeps of the view: a SHA-256 of its canonical JSON, never the store names."""
        canonical = json.dumps(
            {"marketplaces": list(self.marketplaces), "store_names": list(self.store_names)},
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=True,
        )
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Unseen:
    """No view: `reason` is NO_ROLE (Amazon refuses to show one) or UNAVAILABLE (try again later)."""

    reason: str


def view(endpoint: str, access_token: str) -> View | Unseen:
    """The account behind `access_token` at the regional SP-API `endpoint`."""
    try:
        response = _session().get(
            endpoint + PARTICIPATIONS_PATH,
            headers={"x-amz-access-token": access_token, "accept": "application/json"},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException:
        return Unseen(UNAVAILABLE)
    if response.status_code == 403:
        # An expired or rejected access token names itself in `details` (shared/reference §3); the empty
        # details of a missing role or a wrong region do not (models#4825, docs#173, jlevers#245).
        details = " ".join(e.get("details", "") for e in _errors(response)).lower()
        return Unseen(UNAVAILABLE if "token" in details else NO_ROLE)
    if response.status_code != 200:
        return Unseen(UNAVAILABLE)
    return _parse(response)


def _parse(response: requests.Response) -> View | Unseen:
    try:
        payload = response.json().get("payload")
    except (ValueError, AttributeError):
        return Unseen(UNAVAILABLE)
    if not isinstance(payload, list):
        return Unseen(UNAVAILABLE)
    marketplaces, stores = set(), set()
    for entry in payload:
        marketplace = entry.get("marketplace") if isinstance(entry, dict) else None
        market_id = marketplace.get("id") if isinstance(marketplace, dict) else None
        if not isinstance(market_id, str) or not market_id:
            return Unseen(UNAVAILABLE)
        marketplaces.add(market_id)
        store = entry.get("storeName")
        if isinstance(store, str) and store:
            stores.add(store)
    if not marketplaces:
        # Nothing to tell one account from another: no better than no view at all.
        return Unseen(NO_ROLE)
    return View(tuple(sorted(marketplaces)), tuple(sorted(stores)))


def _errors(response: requests.Response) -> list[dict[str, str]]:
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return []
    if not isinstance(errors, list):
        return []
    return [{k: str(v) for k, v in e.items()} for e in errors if isinstance(e, dict)]


@functools.cache
def _session() -> requests.Session:
    # One retry of a failed connection only: nothing was sent, so it cannot cost a request of the quota.
    retry = Retry(total=1, connect=1, read=0, status=0, other=0, allowed_methods=frozenset({"GET"}))
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=8)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http
