"""Helpers shared by the end-to-end tests: a consent over plain HTTP, seller ids, the vend answer's keys."""

from __future__ import annotations

import secrets
import string
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

STATE_COOKIE = "__Host-sellertoken-state"
ANSWER_KEYS = {
    "access_token",
    "token_type",
    "kind",
    "expires_at",
    "expires_in",
    "selling_partner_id",
    "region",
    "endpoint",
}
_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_seller() -> str:
    return "A" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


def authorize_over_http(stack, seller: str | None = None, *, account: str | None = None, status: int = 200) -> str:
    """A real consent without a browser: /authorize (state + cookie), a code from the simulator, /callback.
    `account` is who confirmed at Amazon when the redirect was edited to say `seller`."""
    seller = seller or new_seller()
    started = requests.get(stack.endpoints["authorize"], allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    cookie = started.headers["Set-Cookie"].split(";")[0]  # __Host- cookies are Secure: requests would not send it
    assert cookie.startswith(f"{STATE_COOKIE}=")
    code = requests.post(
        f"{stack.amazon}/_control/code",
        json={"selling_partner_id": account or seller, "redirect_uri": stack.endpoints["redirect_uri"]},
        timeout=10,
    ).json()["code"]
    query = urlencode({"state": state, "selling_partner_id": seller, "spapi_oauth_code": code})
    done = requests.get(f"{stack.api}/callback?{query}", headers={"Cookie": cookie}, allow_redirects=False, timeout=10)
    assert done.status_code == status, done.text
    return seller
