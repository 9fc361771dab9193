"""The consent flow in a real browser against the local stack: /authorize → Amazon's consent page →
/callback, checked from the browser's side (pages, URLs, cookies, headers) and from AWS's side
(the grant secret, its versions and tags, the events on the bus)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from playwright.sync_api import Locator, Page, Response, expect

from sellertoken import names

pytestmark = pytest.mark.e2e

STATE_COOKIE = "__Host-sellertoken-state"
SIMULATED_ID = re.compile(r"A[A-Z0-9]{13}")
TOKEN_MARKERS = ("Atzr|", "Atza|", "Atzr%7C", "Atza%7C", "Atzr%7c", "Atza%7c")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
_ID_ALPHABET = string.ascii_uppercase + string.digits


def grant_name(region: str, selling_partner_id: str) -> str:
    """DESIGN.md: one secret per grant, `{prefix}/grants/{region}/{selling_partner_id}` (prefix `sellertoken`)."""
    return f"sellertoken/grants/{region}/{selling_partner_id}"


def typed_id() -> str:
    """A 14-character id of our own (capital letters and digits), unique per call."""
    return "A1B2C3D4" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


# --------------------------------------------------------------------------- browser steps


def open_consent(tab, stack, query: str) -> Response:
    """Start at /authorize?{query}; the browser must arrive on Amazon's consent page."""
    response = tab.page.goto(f"{stack.api}/authorize?{query}")
    assert response is not None
    assert response.status == 200, f"consent page answered {response.status}: {tab.page.content()}"
    assert tab.page.url.startswith(f"{stack.amazon}/apps/authorize/consent?")
    expect(tab.page.get_by_text("Selling partner ID", exact=True)).to_be_visible()
    return response


def seller_field(page: Page) -> Locator:
    return page.get_by_label("Selling partner ID")


def press(page: Page, button: str) -> Response:
    """Click a consent-page button; returns the response of the page the browser ends up on."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    response = navigation.value
    assert response is not None
    return response


def authorize(tab, stack, query: str = "region=na", seller: str | None = None) -> tuple[str, Response]:
    """The whole happy path: /authorize, keep (or type) the id, Confirm. Returns the id and the last response."""
    open_consent(tab, stack, query)
    field = seller_field(tab.page)
    if seller is not None:
        field.fill(seller)
    selling_partner_id = field.input_value()
    return selling_partner_id, press(tab.page, "Confirm")


def expect_success_page(page: Page, response: Response, selling_partner_id: str, noun: str, region: str) -> None:
    assert response.status == 200
    expect(page.get_by_role("heading", name="Authorized")).to_be_visible()
    expect(page.locator("body")).to_contain_text(
        f"The {noun} {selling_partner_id} has authorized the application in region {region}."
    )


def callback_urls(tab, stack) -> list[str]:
    return [url for url in tab.navigations if url.startswith(f"{stack.api}/callback?")]


def state_cookies(tab) -> list[dict]:
    return [c for c in tab.context.cookies() if c["name"] == STATE_COOKIE]


# --------------------------------------------------------------------------- AWS look-ups


def secret_exists(aws, name: str) -> bool:
    try:
        aws.secretsmanager.describe_secret(SecretId=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def read_grant(aws, region: str, selling_partner_id: str) -> tuple[dict, dict[str, str]]:
    """The grant secret's current JSON value and its tags."""
    name = grant_name(region, selling_partner_id)
    value = json.loads(aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"])
    tags = {t["Key"]: t["Value"] for t in aws.secretsmanager.describe_secret(SecretId=name).get("Tags", [])}
    return value, tags


def version_ids(aws, name: str) -> list[str]:
    versions = aws.secretsmanager.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return sorted(v["VersionId"] for v in versions)


def current_version(aws, name: str) -> str:
    return aws.secretsmanager.get_secret_value(SecretId=name)["VersionId"]


def app_credentials(aws) -> dict:
    return json.loads(aws.secretsmanager.get_secret_value(SecretId="sellertoken/app")["SecretString"])


def code_exchanges(stack) -> int:
    """How many authorization codes the simulator's LWA was asked to exchange so far."""
    calls = requests.get(f"{stack.amazon}/_control/calls", timeout=5)
    calls.raise_for_status()
    return calls.json()["token.authorization_code"]


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, ISO_UTC).replace(tzinfo=UTC)


def assert_no_token_text(text: str, *secrets_: str, where: str) -> None:
    for needle in (*TOKEN_MARKERS, *secrets_, *(quote(s, safe="") for s in secrets_)):
        assert needle not in text, f"{where} holds {needle[:8]}…"


# --------------------------------------------------------------------------- the tests


def test_seller_confirms_and_the_grant_is_stored_without_the_browser_seeing_the_token(tab, stack, aws):
    page = tab.page
    # Given a seller who followed /authorize?region=na to Amazon's consent page
    open_consent(tab, stack, "region=na")
    field = seller_field(page)
    expect(field).to_be_visible()
    selling_partner_id = field.input_value()
    assert SIMULATED_ID.fullmatch(selling_partner_id), "the consent page prefills a generated selling partner id"
    consent_html = page.content()
    aws.events.drain()

    # When they confirm
    response = press(page, "Confirm")

    # Then they see the success page naming them
    expect_success_page(page, response, selling_partner_id, "seller", "NA")
    success_html = page.content()
    assert response.url.startswith(f"{stack.api}/callback?")

    # and the grant is one active secret with the documented JSON value
    assert grant_name("na", selling_partner_id) == f"sellertoken/grants/na/{selling_partner_id}"
    value, tags = read_grant(aws, "na", selling_partner_id)
    assert tags[names.TAG_STATUS] == "active"
    assert tags[names.TAG_REGION] == "na"
    assert tags[names.TAG_SELLER] == selling_partner_id
    assert tags[names.TAG_AUTHORIZED_AT] == value["authorized_at"]
    assert value["schema_version"] == 1
    refresh_token = value["refresh_token"]
    assert refresh_token.startswith("Atzr|") and len(refresh_token) > 100
    assert value["selling_partner_id"] == selling_partner_id
    assert value["region"] == "na"
    assert value["account_type"] == "seller"
    credentials = app_credentials(aws)
    assert value["client_id"] == credentials["client_id"]
    authorized_at = parse_utc(value["authorized_at"])
    assert abs(datetime.now(UTC) - authorized_at) < timedelta(minutes=2)
    assert parse_utc(value["reauthorize_by"]) == authorized_at + timedelta(days=365)
    assert "reference" not in value

    # and the stored refresh token is a live one at Amazon (the simulator's LWA)
    refreshed = requests.post(
        f"{stack.amazon}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        timeout=5,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"].startswith("Atza|")

    # and exactly one "Seller Authorized" event told the bus, without any token in it
    events = aws.events.wait_for(selling_partner_id)
    assert [e.detail_type for e in events] == [names.EVENT_SELLER_AUTHORIZED]
    event = events[0]
    assert event.source == "sellertoken"
    assert event.detail["selling_partner_id"] == selling_partner_id
    assert event.detail["region"] == "na"
    assert event.detail["account_type"] == "seller"
    assert event.detail["authorized_at"] == value["authorized_at"]
    assert event.detail["reauthorize_by"] == value["reauthorize_by"]
    assert_no_token_text(event.raw, refresh_token, where="the event")

    # and the browser never saw the refresh token: not in a page, a URL, a header or a cookie
    assert tab.navigations, "framenavigated was recorded"
    code = parse_qs(urlsplit(response.url).query)["spapi_oauth_code"][0]
    for url in [*tab.navigations, *tab.requests]:
        assert_no_token_text(url, refresh_token, where=f"the URL {url[:60]}")
    assert_no_token_text(consent_html, refresh_token, where="the consent page")
    assert_no_token_text(success_html, refresh_token, where="the success page")
    for seen in tab.responses:
        assert_no_token_text(json.dumps(seen.all_headers()), refresh_token, where=f"headers of {seen.url[:60]}")
    assert_no_token_text(json.dumps(tab.context.cookies()), refresh_token, where="the cookies")

    # and neither the token nor Amazon's one-time code reached the stack's logs
    assert_no_token_text(stack.log(), refresh_token, code, where="the stack's log")


def test_cancel_stays_on_amazon_and_the_broker_hears_nothing(tab, stack, aws):
    page = tab.page
    # Given a seller on the consent page
    open_consent(tab, stack, "region=na")
    selling_partner_id = seller_field(page).input_value()
    aws.events.drain()
    seen = len(tab.requests)

    # When they cancel
    response = press(page, "Cancel")

    # Then they stay on Amazon, which says so; nothing reached the broker, nothing was stored
    assert response.status == 200 and page.url.startswith(stack.amazon)
    expect(page.get_by_role("heading", name="Authorization cancelled")).to_be_visible()
    assert not [url for url in tab.requests[seen:] if url.startswith(stack.api)]
    assert not secret_exists(aws, grant_name("na", selling_partner_id))
    assert aws.events.drain() == []


@pytest.fixture
def cancel_redirects(stack):
    """Amazon as some OAuth servers are: Cancel sends error=access_denied to the redirect URI (undocumented)."""
    requests.post(f"{stack.amazon}/_control/behaviour", json={"cancel_redirects": True}, timeout=5).raise_for_status()
    yield
    requests.post(f"{stack.amazon}/_control/behaviour", json={"cancel_redirects": False}, timeout=5)


def test_a_cancel_redirected_with_access_denied_shows_not_completed_and_stores_nothing(
    tab, stack, aws, cancel_redirects
):
    page = tab.page
    # Given a seller on the consent page, with the id Amazon prefilled
    open_consent(tab, stack, "region=na")
    selling_partner_id = seller_field(page).input_value()
    aws.events.drain()
    exchanges = code_exchanges(stack)

    # When they cancel
    response = press(page, "Cancel")

    # Then Amazon's redirect lands on our "not completed" page with status 400
    assert response.url.startswith(f"{stack.api}/callback?")
    assert parse_qs(urlsplit(response.url).query)["error"] == ["access_denied"]
    assert response.status == 400
    expect(page.get_by_role("heading", name="Authorization was not completed")).to_be_visible()
    expect(page.locator("body")).to_contain_text("nothing was stored")
    start_again = page.get_by_role("link", name="Start again")
    expect(start_again).to_be_visible()

    # and no code was exchanged, nothing was stored or announced
    assert code_exchanges(stack) == exchanges
    for region in ("na", "eu", "fe"):
        assert not secret_exists(aws, grant_name(region, selling_partner_id))
    assert aws.events.drain() == []

    # and "Start again" leads back to Amazon's consent page, without a Referer (Referrer-Policy: no-referrer)
    with page.expect_request(lambda r: r.url.startswith(f"{stack.api}/authorize?")) as again:
        with page.expect_navigation():
            start_again.click()
    assert "referer" not in again.value.headers
    assert parse_qs(urlsplit(again.value.url).query)["region"] == ["na"]
    assert page.url.startswith(f"{stack.amazon}/apps/authorize/consent?")
    expect(seller_field(page)).to_be_visible()


def test_a_european_marketplace_stores_the_grant_in_region_eu(tab, stack, aws):
    # Given a seller sent to /authorize?marketplace=DE
    # When they confirm on the consent page
    selling_partner_id, response = authorize(tab, stack, "marketplace=DE")

    # Then the grant lives under the EU region, and nowhere else
    expect_success_page(tab.page, response, selling_partner_id, "seller", "EU")
    value, tags = read_grant(aws, "eu", selling_partner_id)
    assert value["region"] == "eu"
    assert value["selling_partner_id"] == selling_partner_id
    assert tags[names.TAG_REGION] == "eu"
    assert not secret_exists(aws, grant_name("na", selling_partner_id))
    assert not secret_exists(aws, grant_name("fe", selling_partner_id))
    events = aws.events.wait_for(selling_partner_id)
    assert [(e.detail_type, e.detail["region"]) for e in events] == [(names.EVENT_SELLER_AUTHORIZED, "eu")]


def test_a_typed_selling_partner_id_is_the_one_stored(tab, stack, aws):
    page = tab.page
    # Given a seller on the consent page who replaces the prefilled id with their own
    open_consent(tab, stack, "region=na")
    field = seller_field(page)
    prefilled = field.input_value()
    own = typed_id()
    assert len(own) == 14 and own != prefilled
    field.clear()
    expect(field).to_have_value("")
    field.press_sequentially(own)
    expect(field).to_have_value(own)

    # When they confirm
    response = press(page, "Confirm")

    # Then the grant is stored under the typed id, not the prefilled one
    expect_success_page(page, response, own, "seller", "NA")
    value, tags = read_grant(aws, "na", own)
    assert value["selling_partner_id"] == own
    assert tags[names.TAG_SELLER] == own
    assert not secret_exists(aws, grant_name("na", prefilled))


def test_reauthorizing_a_seller_adds_a_version_and_announces_a_reauthorization(tab, stack, aws):
    seller = typed_id()
    name = grant_name("na", seller)
    # Given a seller who authorized once
    _, first = authorize(tab, stack, seller=seller)
    expect_success_page(tab.page, first, seller, "seller", "NA")
    first_value, _ = read_grant(aws, "na", seller)
    assert len(version_ids(aws, name)) == 1

    # When they authorize again
    _, second = authorize(tab, stack, seller=seller)

    # Then there is still one secret, now with two versions, the previous one kept
    expect_success_page(tab.page, second, seller, "seller", "NA")
    listed = aws.secretsmanager.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert [s["Name"] for s in listed] == [name]
    assert len(version_ids(aws, name)) == 2
    second_value, tags = read_grant(aws, "na", seller)
    assert second_value["refresh_token"].startswith("Atzr|")
    assert second_value["refresh_token"] != first_value["refresh_token"]
    previous = aws.secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert json.loads(previous["SecretString"])["refresh_token"] == first_value["refresh_token"]
    assert tags[names.TAG_STATUS] == "active"

    # and the bus heard "Seller Authorized" then "Seller Reauthorized" (previously active)
    events = aws.events.wait_for(seller, count=2)
    assert [e.detail_type for e in events] == [names.EVENT_SELLER_AUTHORIZED, names.EVENT_SELLER_REAUTHORIZED]
    assert events[1].detail["previous_status"] == "active"
    assert events[1].detail["authorized_at"] == second_value["authorized_at"]


def test_opening_the_callback_url_again_is_refused_and_changes_nothing(tab, stack, aws):
    page = tab.page
    # Given a seller who completed the consent
    seller, response = authorize(tab, stack)
    expect_success_page(page, response, seller, "seller", "NA")
    (callback_url,) = callback_urls(tab, stack)
    name = grant_name("na", seller)
    versions, current = version_ids(aws, name), current_version(aws, name)
    assert len(aws.events.wait_for(seller)) == 1
    exchanges = code_exchanges(stack)

    # When the browser opens the exact callback URL again
    replay = page.goto(callback_url)

    # Then it gets the "no longer valid" page with status 400 and a way to start again
    assert replay is not None and replay.status == 400
    expect(page.get_by_role("heading", name="This authorization link is no longer valid")).to_be_visible()
    expect(page.get_by_role("link", name="Start again")).to_be_visible()

    # and Amazon was not asked again, the grant is untouched, and no event was published
    assert code_exchanges(stack) == exchanges
    assert version_ids(aws, name) == versions
    assert current_version(aws, name) == current
    assert len(aws.events.of(seller)) == 1


def test_a_replay_carrying_the_original_state_cookie_is_refused_as_already_used(tab, stack, aws):
    page = tab.page
    # Given a seller who completed the consent, and a copy of the state cookie the browser had then
    open_consent(tab, stack, "region=na")
    (cookie,) = state_cookies(tab)
    seller = seller_field(page).input_value()
    response = press(page, "Confirm")
    expect_success_page(page, response, seller, "seller", "NA")
    (callback_url,) = callback_urls(tab, stack)
    name = grant_name("na", seller)
    versions, current = version_ids(aws, name), current_version(aws, name)
    exchanges = code_exchanges(stack)

    # When the same state, code and cookie are presented again
    assert state_cookies(tab) == []
    tab.context.add_cookies([cookie])
    assert [c["value"] for c in state_cookies(tab)] == [cookie["value"]]
    replay = page.goto(callback_url)

    # Then the single-use state refuses it before Amazon is asked again: 400, nothing changes
    assert replay is not None and replay.status == 400
    expect(page.get_by_role("heading", name="This authorization link is no longer valid")).to_be_visible()
    assert code_exchanges(stack) == exchanges
    assert version_ids(aws, name) == versions
    assert current_version(aws, name) == current
    assert [e.detail_type for e in aws.events.wait_for(seller)] == [names.EVENT_SELLER_AUTHORIZED]


def test_the_state_cookie_is_locked_down_and_cleared_after_success(tab, stack, aws):
    page = tab.page
    # Given a browser that opened /authorize
    started = time.time()
    open_consent(tab, stack, "region=na")

    # Then /authorize set a __Host- state cookie: Secure, HttpOnly, SameSite=Lax, Path=/, host-only, short-lived
    (authorize_response,) = [r for r in tab.responses if r.url.startswith(f"{stack.api}/authorize?")]
    assert authorize_response.status == 302
    set_cookie = authorize_response.header_value("set-cookie") or ""
    attributes = [part.strip().lower() for part in set_cookie.split(";")]
    assert attributes[0].startswith(STATE_COOKIE.lower() + "=")
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(a.startswith("domain=") for a in attributes)
    (cookie,) = state_cookies(tab)
    assert cookie["secure"] is True
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["domain"] == urlsplit(stack.api).hostname
    assert started < cookie["expires"] <= started + 3600
    # and page scripts cannot read it
    assert STATE_COOKIE not in page.evaluate("document.cookie")

    # When the seller confirms
    seller = seller_field(page).input_value()
    response = press(page, "Confirm")

    # Then the callback clears the cookie
    expect_success_page(page, response, seller, "seller", "NA")
    assert state_cookies(tab) == []
    callback_set_cookie = (response.header_value("set-cookie") or "").lower()
    assert callback_set_cookie.startswith(STATE_COOKIE.lower() + "=;") or "max-age=0" in callback_set_cookie


def test_with_a_success_url_the_browser_lands_on_the_app(tab, success_stack, success_aws):
    page = tab.page
    landed: list[str] = []
    # The application's page is served from inside the browser. Playwright's page.route() is not called
    # for the hops of a redirect, and /callback reaches it by a 302, so intercept with CDP's Fetch domain,
    # which pauses every request to that origin, redirect hops included; nothing leaves the machine.
    cdp = tab.context.new_cdp_session(page)

    def app_page(event: dict) -> None:
        landed.append(event["request"]["url"])
        cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": 200,
                "responseHeaders": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                "body": base64.b64encode(b"<!doctype html><title>App</title><h1>Connected</h1>").decode(),
            },
        )

    cdp.on("Fetch.requestPaused", app_page)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "https://app.example.test/*", "requestStage": "Request"}]})
    # Given a stack configured with --success-url https://app.example.test/sellers/connected
    # When a seller confirms on the consent page
    seller, response = authorize(tab, success_stack, "region=na")

    # Then the browser lands on the application's page, told who and where
    expected = f"https://app.example.test/sellers/connected?selling_partner_id={seller}&region=na"
    assert landed[0] == expected
    assert response.url == expected
    assert page.url == expected
    expect(page.get_by_role("heading", name="Connected")).to_be_visible()
    (callback,) = [r for r in tab.responses if r.url.startswith(f"{success_stack.api}/callback?")]
    assert callback.status == 302
    assert callback.header_value("location") == expected
    assert callback.header_value("cache-control") == "no-store"

    # and the grant was stored, and the state cookie cleared
    value, tags = read_grant(success_aws, "na", seller)
    assert value["selling_partner_id"] == seller
    assert tags[names.TAG_STATUS] == "active"
    assert state_cookies(tab) == []
    assert [e.detail_type for e in success_aws.events.wait_for(seller)] == [names.EVENT_SELLER_AUTHORIZED]


def test_every_page_of_the_api_forbids_caching_referrers_and_foreign_content(tab, stack):
    page = tab.page
    api = stack.api
    # Given a browser that goes through every kind of page the API serves:
    # a success (302 from /authorize, 200 from /callback), a replay (400), an access_denied answer (400),
    # a bad request (400) and a refused /login (400)
    seller, response = authorize(tab, stack)
    expect_success_page(page, response, seller, "seller", "NA")
    h1_size = page.eval_on_selector("h1", "e => getComputedStyle(e).fontSize")
    (callback_url,) = callback_urls(tab, stack)
    page.goto(callback_url)
    page.goto(f"{api}/callback?state=x&error=access_denied")
    page.goto(f"{api}/authorize?region=xx")
    page.goto(f"{api}/login?amazon_callback_uri=https%3A%2F%2Fevil.example%2Fconsent&amazon_state=x")

    # Then every one of those responses carries the security headers
    ours = [r for r in tab.responses if r.url.startswith(f"{api}/")]
    assert sorted({r.status for r in ours}) == [200, 302, 400]
    assert len(ours) >= 6
    for seen in ours:
        headers = seen.all_headers()
        assert headers.get("cache-control") == "no-store", seen.url
        assert headers.get("referrer-policy") == "no-referrer", seen.url
        assert headers.get("content-security-policy"), seen.url
        assert "default-src 'none'" in headers["content-security-policy"], seen.url

    # and the policy still lets our own pages render their own style, without CSP complaints
    assert h1_size == "22.4px"
    assert not [m for m in tab.console_errors if "Content Security Policy" in m or "Content-Security-Policy" in m]
