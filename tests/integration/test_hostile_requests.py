"""Hostile and malformed requests: each gets its documented status and leaves nothing behind.

After every attack, no secret, no table item and no event may have been written.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from sellertoken import appcreds, names, state
from tests.integration.conftest import REDIRECT_URI, Browser, new_seller


@dataclass(frozen=True)
class Case:
    name: str
    prepare: Callable  # (browser, world) -> attack target, or (target, method)
    status: int
    says: str


def callback_query(consent: dict, seller: str, code: str, **changes: str) -> str:
    query = {"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code}
    query.update(changes)
    return "/callback?" + urlencode({k: v for k, v in query.items() if v is not None})


def valid_start(browser, world):
    consent = browser.start()
    return consent, new_seller(), world.amazon.issue_code("AQZ" + "0" * 11, REDIRECT_URI)


def tampered_state(browser, world):
    consent, seller, code = valid_start(browser, world)
    body, signature = consent["state"].split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    return callback_query(consent, seller, code, state=f"{forged}.{signature}")


def state_signed_with_another_key(browser, world):
    consent, seller, code = valid_start(browser, world)
    claims = state.verify(
        appcreds.state_key(names.DEFAULT_PREFIX), consent["state"], browser.cookies[state.COOKIE_NAME]
    )
    other = state.issue(secrets.token_bytes(48), region=claims.region, account_type="seller", reference=None)
    browser.cookies[state.COOKIE_NAME] = other.cookie_value
    return callback_query(consent, seller, code, state=other.state)


def expired_state(browser, world):
    key = appcreds.state_key(names.DEFAULT_PREFIX)
    old = state.issue(key, region="na", account_type="seller", reference=None, now=time.time() - 601)
    browser.cookies[state.COOKIE_NAME] = old.cookie_value
    code = world.amazon.issue_code("AQZ" + "1" * 11, REDIRECT_URI)
    return callback_query({"state": old.state}, new_seller(), code)


def replayed_state(browser, world):
    consent, seller, _ = valid_start(browser, world)
    cookie = browser.cookies[state.COOKIE_NAME]
    first = browser.get(callback_query(consent, seller, world.amazon.issue_code(seller, REDIRECT_URI)))
    assert first["statusCode"] == 200
    browser.cookies[state.COOKIE_NAME] = cookie  # an attacker keeps the cookie the success cleared
    return callback_query(consent, seller, world.amazon.issue_code(seller, REDIRECT_URI))


def missing_state(browser, world):
    consent, seller, code = valid_start(browser, world)
    return callback_query(consent, seller, code, state=None)


def missing_cookie(browser, world):
    consent, seller, code = valid_start(browser, world)
    browser.cookies.clear()
    return callback_query(consent, seller, code)


def foreign_cookie(browser, world):
    consent, seller, code = valid_start(browser, world)
    other = Browser(browser.handler)
    other.start()
    browser.cookies = dict(other.cookies)  # the victim's browser holds its own flow's cookie
    return callback_query(consent, seller, code)


def markup_in_seller_id(browser, world):
    consent, _, code = valid_start(browser, world)
    return callback_query(consent, "<script>alert(1)</script>", code)


def lowercase_seller_id(browser, world):
    consent, _, code = valid_start(browser, world)
    return callback_query(consent, "a1b2c3d4e5f6g7", code)


def oversized_state(browser, world):
    consent, seller, code = valid_start(browser, world)
    return callback_query(consent, seller, code, state="A" * 5000)


def non_ascii_state(browser, world):
    consent, seller, code = valid_start(browser, world)
    return callback_query(consent, seller, code, state=consent["state"] + "é")


def seller_cancelled(browser, world):
    consent, _, _ = valid_start(browser, world)
    return "/callback?" + urlencode({"state": consent["state"], "error": "access_denied"})


def missing_code(browser, world):
    consent, seller, _ = valid_start(browser, world)
    return callback_query(consent, seller, "", spapi_oauth_code=None)


def fixed(target: str, method: str = "GET"):
    return lambda browser, world: (target, method)


AMAZON_CALLBACK = "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.test-app"
CASES = [
    Case("tampered state", tampered_state, 400, "no longer valid"),
    Case("state signed with another key", state_signed_with_another_key, 400, "no longer valid"),
    Case("expired state", expired_state, 400, "no longer valid"),
    Case("replayed state", replayed_state, 400, "no longer valid"),
    Case("missing state", missing_state, 400, "no longer valid"),
    Case("missing cookie", missing_cookie, 400, "no longer valid"),
    Case("foreign cookie", foreign_cookie, 400, "no longer valid"),
    Case("oversized state", oversized_state, 400, "too long"),
    Case("non-ASCII state", non_ascii_state, 400, "not allowed"),
    Case("markup in selling_partner_id", markup_in_seller_id, 400, "malformed selling_partner_id"),
    Case("lowercase selling_partner_id", lowercase_seller_id, 400, "malformed selling_partner_id"),
    Case("seller cancelled", seller_cancelled, 400, "not completed"),
    Case("missing code", missing_code, 400, "not completed"),
    Case("unknown region", fixed("/authorize?region=xx"), 400, "Unknown region"),
    Case("unknown marketplace", fixed("/authorize?marketplace=ZZ"), 400, "Unknown marketplace"),
    Case("region and marketplace disagree", fixed("/authorize?region=na&marketplace=DE"), 400, "not in that region"),
    Case("repeated region", fixed("/authorize?region=na&region=eu"), 400, "Unknown region"),
    Case("unknown account type", fixed("/authorize?region=na&account_type=admin"), 400, "seller or vendor"),
    Case("no Vendor Central there", fixed("/authorize?marketplace=IE&account_type=vendor"), 400, "no Vendor Central"),
    Case("no region at all", fixed("/authorize"), 400, "Say which region"),
    Case("oversized reference", fixed("/authorize?region=na&reference=" + "r" * 3000), 400, "too long"),
    Case(
        "non-ASCII reference",
        fixed("/authorize?" + urlencode({"region": "na", "reference": "kundé"})),
        400,
        "not allowed",
    ),
    Case("markup in reference", fixed("/authorize?region=na&reference=%3Cb%3E"), 400, "reference must be"),
    Case("non-ASCII region", fixed("/authorize?" + urlencode({"region": "ná"})), 400, "not allowed"),
    Case(
        "foreign amazon_callback_uri",
        fixed("/login?" + urlencode({"amazon_callback_uri": "https://evil.example/x", "amazon_state": "s"})),
        400,
        "not an Amazon",
    ),
    Case(
        "http: amazon_callback_uri",
        fixed(
            "/login?"
            + urlencode({"amazon_callback_uri": AMAZON_CALLBACK.replace("https:", "http:"), "amazon_state": "s"})
        ),
        400,
        "not an Amazon",
    ),
    Case(
        "javascript: amazon_callback_uri",
        fixed("/login?" + urlencode({"amazon_callback_uri": "javascript:alert(document.cookie)", "amazon_state": "s"})),
        400,
        "not an Amazon",
    ),
    Case(
        "look-alike Amazon host",
        fixed(
            "/login?"
            + urlencode({"amazon_callback_uri": "https://sellercentral.amazon.com.evil.example/x", "amazon_state": "s"})
        ),
        400,
        "not an Amazon",
    ),
    Case(
        "userinfo in amazon_callback_uri",
        fixed(
            "/login?"
            + urlencode({"amazon_callback_uri": "https://sellercentral.amazon.com@evil.example/x", "amazon_state": "s"})
        ),
        400,
        "not an Amazon",
    ),
    Case(
        "login without amazon_state",
        fixed("/login?" + urlencode({"amazon_callback_uri": AMAZON_CALLBACK})),
        400,
        "amazon_state",
    ),
    Case(
        "markup in login selling_partner_id",
        fixed(
            "/login?"
            + urlencode(
                {"amazon_callback_uri": AMAZON_CALLBACK, "amazon_state": "s", "selling_partner_id": "<img src=x>"}
            )
        ),
        400,
        "malformed",
    ),
    Case("POST /callback", fixed("/callback?state=x", "POST"), 404, "Not found"),
    Case("DELETE /authorize", fixed("/authorize?region=na", "DELETE"), 404, "Not found"),
    Case("unknown path", fixed("/admin"), 404, "Not found"),
]


@pytest.fixture
def real_amazon_hosts(aws, monkeypatch):
    """The hostile table runs against Amazon's real consent hosts (the simulator still answers LWA)."""
    from sellertoken import config

    monkeypatch.delenv(names.ENV_CONSENT_BASE_URL)
    monkeypatch.delenv(names.ENV_VENDOR_CONSENT_BASE_URL)
    config.get_config.cache_clear()
    return aws


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_is_refused_and_leaves_nothing_behind(case, browser, real_amazon_hosts):
    world = real_amazon_hosts
    prepared = case.prepare(browser, world)
    target, method = prepared if isinstance(prepared, tuple) else (prepared, "GET")
    world.events()  # drain what preparation legitimately wrote
    before = world.snapshot()

    result = browser.get(target, method=method)

    assert result["statusCode"] == case.status, result["body"]
    assert case.says in result["body"]
    assert result["headers"]["Content-Type"].startswith("text/html")
    assert result["headers"]["Cache-Control"] == "no-store"
    assert "<script" not in result["body"] and "<img" not in result["body"] and "<b>" not in result["body"]
    assert world.snapshot() == before
    assert world.events() == []


def test_the_table_covers_at_least_fifteen_hostile_cases():
    assert len(CASES) >= 15


def test_login_sends_the_browser_back_to_amazon_with_both_states(browser, real_amazon_hosts):
    query = {"amazon_callback_uri": AMAZON_CALLBACK, "amazon_state": "amz-123", "selling_partner_id": new_seller()}

    result = browser.get("/login?" + urlencode(query))

    assert result["statusCode"] == 302
    target = result["headers"]["Location"]
    assert target.startswith(AMAZON_CALLBACK + "?")
    assert "amazon_state=amz-123" in target and "state=" in target and "version=beta" in target
    assert state.COOKIE_NAME in browser.cookies
