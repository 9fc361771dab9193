"""Cancel as Amazon does it: the seller stays on Amazon and the broker hears nothing (documented), or, if
Amazon ever sends OAuth's error=access_denied (undocumented, a simulator switch), a "not completed" page.
Either way nothing is stored, and a state left behind expires without having written anything."""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

import requests

from sellertoken import appcreds, names, state
from tests.integration.conftest import REDIRECT_URI, Browser
from tests.unit.test_amazon_simulator import Form


def cancel_at_amazon(consent_url: str) -> requests.Response:
    page = requests.get(consent_url, timeout=10)
    form = Form(page.text)
    name, value = form.buttons["Cancel"]
    base = f"{urlsplit(consent_url).scheme}://{urlsplit(consent_url).netloc}"
    return requests.post(base + form.action, data={**form.fields, name: value}, allow_redirects=False, timeout=10)


def test_a_seller_who_cancels_stays_on_amazon_and_nothing_is_left_behind(browser, aws):
    # Given a seller sent to Amazon's consent page
    started = browser.get("/authorize?region=na")
    before = aws.snapshot()

    # When they cancel
    cancelled = cancel_at_amazon(started["headers"]["Location"])

    # Then Amazon keeps them on its own page, and the broker wrote and announced nothing
    assert cancelled.status_code == 200 and "Authorization cancelled" in cancelled.text
    assert aws.snapshot() == before and aws.events() == []

    # and the same browser can start again and complete
    consent = browser.start("/authorize?region=na")
    code = aws.amazon.issue_code("A3FHEXAMPLEYWS", REDIRECT_URI)
    query = urlencode({"state": consent["state"], "selling_partner_id": "A3FHEXAMPLEYWS", "spapi_oauth_code": code})
    assert browser.get(f"/callback?{query}")["statusCode"] == 200


def test_with_the_access_denied_switch_the_broker_shows_not_completed_and_stores_nothing(oauth, aws):
    aws.amazon.set_behaviour(cancel_redirects=True)
    browser = Browser(oauth)
    started = browser.get("/authorize?region=na")
    before = aws.snapshot()

    redirected = cancel_at_amazon(started["headers"]["Location"])
    landed = browser.get("/callback?" + urlsplit(redirected.headers["Location"]).query)

    assert landed["statusCode"] == 400 and "Authorization was not completed" in landed["body"]
    assert aws.snapshot() == before and aws.events() == []
    assert aws.amazon.calls()["token.authorization_code"] == 0


def test_a_state_abandoned_past_its_lifetime_is_refused_as_expired_without_exchanging_the_code(browser, aws):
    # Given a consent started 11 minutes ago and left (the seller cancelled, or closed the tab)
    key = appcreds.state_key(names.DEFAULT_PREFIX)
    old = state.issue(key, region="na", account_type="seller", reference=None,
                      now=time.time() - state.STATE_TTL_SECONDS - 60)  # fmt: skip
    browser.cookies[state.COOKIE_NAME] = old.cookie_value
    code = aws.amazon.issue_code("A3FHEXAMPLEYWS", REDIRECT_URI)

    # When a callback arrives for it after all
    query = urlencode({"state": old.state, "selling_partner_id": "A3FHEXAMPLEYWS", "spapi_oauth_code": code})
    result = browser.get(f"/callback?{query}")

    # Then it is refused as expired; no code was exchanged and nothing, not even a used-state record, was written
    assert result["statusCode"] == 400 and "no longer valid" in result["body"]
    assert aws.amazon.calls()["token.authorization_code"] == 0
    assert aws.grant_names() == [] and aws.table_items() == []
