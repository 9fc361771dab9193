"""Authorizations that pass through the broker's Login URI (/login): renewals from Manage Your Apps,
Appstore starts and (reported for Draft apps) website flows, each driven through the simulator's pages
and confirm endpoint as a browser would; and every `amazon_callback_uri` form Amazon sends."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from sellertoken import names, state
from tests.integration.conftest import APP, LOGIN_URI, REDIRECT_URI, Browser
from tests.unit.test_amazon_simulator import Form

APP_ID = APP["application_id"]
VENDOR = "amzn1.vg.4455667"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def location(result: dict) -> str:
    assert result["statusCode"] == 302, result["body"]
    return result["headers"]["Location"]


def click(http, base: str, page: requests.Response, label: str) -> requests.Response:
    href = page.text[: page.text.index(f'">{label}</a>')].rsplit('href="', 1)[1].replace("&amp;", "&")
    return http.get(base + href, allow_redirects=False, timeout=10)


def confirm(http, base: str, page: requests.Response) -> str:
    """Confirm on the consent page; returns where Amazon sends the browser (the Login URI, with its query)."""
    form = Form(page.text)
    name, value = form.buttons["Confirm"]
    answer = http.post(base + form.action, data={**form.fields, name: value}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def through_the_broker(browser: Browser, http, login_location: str, **headers: str) -> dict:
    """The app's Login URI sends the browser back to Amazon, whose confirm endpoint calls /callback."""
    assert login_location.startswith(LOGIN_URI + "?")
    hop = browser.get("/login?" + urlsplit(login_location).query, headers=headers)
    assert hop["statusCode"] == 302, hop["body"]
    answer = http.get(hop["headers"]["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    return browser.get("/callback?" + urlsplit(answer.headers["Location"]).query)


def renewal(http, amazon, partner: str, base: str) -> str:
    apps = http.get(f"{base}/apps/manage", params={"selling_partner_id": partner}, timeout=10)
    return confirm(http, base, click(http, base, apps, "Re-authorize"))


def authorized(browser: Browser, aws, partner: str, query: str = "region=na") -> None:
    started = browser.start(f"/authorize?{query}")
    code = aws.amazon.issue_code(partner, REDIRECT_URI)
    done = browser.get("/callback?" + urlencode({"state": started["state"], "selling_partner_id": partner,
                                                 "spapi_oauth_code": code}))  # fmt: skip
    assert done["statusCode"] == 200, done["body"]
    aws.events()


def versions(aws, partner: str, region: str = "na") -> int:
    sm = aws.clients["secretsmanager"]
    return len(sm.list_secret_version_ids(SecretId=names.grant_secret_name(region, partner))["Versions"])


# ---------------------------------------------------------------- journeys through the hop


def test_a_renewal_from_manage_your_apps_lands_verified_on_the_same_grant(oauth, aws, http, authorize):
    seller = authorize()
    before = aws.grant("na", seller)[0]

    done = through_the_broker(Browser(oauth), http, renewal(http, aws.amazon, seller, aws.amazon.base_url))

    assert done["statusCode"] == 200, done["body"]
    value, tags = aws.grant("na", seller)
    assert versions(aws, seller) == 2 and value["refresh_token"] != before["refresh_token"]
    assert tags[names.TAG_ACCOUNT_TYPE] == "seller"
    (event,) = aws.events()
    assert event["detail-type"] == names.EVENT_SELLER_REAUTHORIZED
    assert (event["detail"]["identity_check"], event["detail"]["identity_verified"]) == ("live_views_match", True)


def test_a_vendor_renewal_at_vendor_central_is_a_vendor_reauthorization(oauth, aws, http):
    browser = Browser(oauth)
    authorized(browser, aws, VENDOR, "region=na&account_type=vendor")

    done = through_the_broker(browser, http, renewal(http, aws.amazon, VENDOR, aws.amazon.vendor_central_url))

    assert done["statusCode"] == 200, done["body"]
    assert versions(aws, VENDOR) == 2
    (event,) = aws.events()
    assert (event["detail-type"], event["detail"]["account_type"]) == (names.EVENT_SELLER_REAUTHORIZED, "vendor")
    assert event["detail"]["identity_check"] == "vendor"


def test_an_appstore_start_is_a_first_authorization_without_a_reference(oauth, aws, http):
    aws.amazon.app_is_draft = False
    try:
        base = aws.amazon.base_url
        page = click(http, base, http.get(f"{base}/apps/appstore/{APP_ID}", timeout=10), "Authorize now")
        seller = Form(page.text).fields["selling_partner_id"]

        done = through_the_broker(Browser(oauth), http, confirm(http, base, page))
    finally:
        aws.amazon.app_is_draft = True

    assert done["statusCode"] == 200, done["body"]
    value, _ = aws.grant("na", seller)
    assert value["account_type"] == "seller" and "reference" not in value
    (event,) = aws.events()
    assert (event["detail-type"], event["detail"]["identity_check"]) == (names.EVENT_SELLER_AUTHORIZED, "new_grant")


def test_a_website_flow_through_the_login_uri_keeps_the_region_account_type_and_reference_it_started_with(
    oauth, aws, http
):
    # Given Amazon sends website flows through the Login URI, and a seller who started at /authorize
    aws.amazon.set_behaviour(website_login_hop=True)
    browser = Browser(oauth)
    consent_url = location(browser.get("/authorize?marketplace=DE&reference=cust-42"))
    assert state.FLOW_COOKIE_NAME in browser.cookies

    # When they confirm at Amazon and Amazon loads the Login URI
    page = http.get(consent_url, timeout=10)
    done = through_the_broker(browser, http, confirm(http, aws.amazon.base_url, page))

    # Then the grant is the flow's: EU, seller, the company's reference; the flow cookie is gone
    assert done["statusCode"] == 200, done["body"]
    seller = Form(page.text).fields["selling_partner_id"]
    value, _ = aws.grant("eu", seller)
    assert (value["region"], value["account_type"], value["reference"]) == ("eu", "seller", "cust-42")
    assert state.FLOW_COOKIE_NAME not in browser.cookies


def test_a_flow_cookie_that_is_not_this_browsers_is_ignored(oauth, aws, http):
    aws.amazon.set_behaviour(website_login_hop=True)
    started, other = Browser(oauth), Browser(oauth)
    consent_url = location(started.get("/authorize?marketplace=DE&reference=cust-42"))
    other.get("/authorize?region=na")  # a nonce of its own
    other.cookies[state.FLOW_COOKIE_NAME] = started.cookies[state.FLOW_COOKIE_NAME]  # lifted from the first

    page = http.get(consent_url, timeout=10)
    done = through_the_broker(other, http, confirm(http, aws.amazon.base_url, page))

    assert done["statusCode"] == 200, done["body"]
    value, _ = aws.grant("na", Form(page.text).fields["selling_partner_id"])
    assert "reference" not in value  # nothing of the other browser's flow was kept


# ---------------------------------------------------------------- the forms of amazon_callback_uri


@pytest.fixture
def amazon_hosts(aws, monkeypatch):
    """Amazon's real consent hosts (the simulator still answers LWA)."""
    from sellertoken import config

    monkeypatch.delenv(names.ENV_CONSENT_BASE_URL)
    monkeypatch.delenv(names.ENV_VENDOR_CONSENT_BASE_URL)
    config.get_config.cache_clear()
    return aws


def login(browser: Browser, callback: str, *, seller: str = "A3FHEXAMPLEYWS", **headers: str) -> dict:
    query = {"amazon_callback_uri": callback, "amazon_state": "amz-1", "selling_partner_id": seller}
    return browser.get("/login?" + urlencode(query), headers=headers)


def claims_of(result: dict) -> state.StateClaims:
    from sellertoken import appcreds

    issued = query_of(result["headers"]["Location"])["state"]
    return state.peek(appcreds.state_key(names.DEFAULT_PREFIX), issued)


CONFIRM = f"/apps/authorize/confirm/{APP_ID}"
CALLBACK_FORMS = {
    "absolute, Seller Central (models#4093)": (f"https://sellercentral.amazon.com{CONFIRM}", {}, "A3FHEXAMPLEYWS",
                                              "https://sellercentral.amazon.com", "na", "seller"),
    "absolute, Vendor Central Japan": (f"https://vendorcentral.amazon.co.jp{CONFIRM}", {}, "amzn1.vg.1234567",
                                       "https://vendorcentral.amazon.co.jp", "fe", "vendor"),
    "the developer guide's amazon.com": (f"https://amazon.com{CONFIRM}", {}, "A3FHEXAMPLEYWS",
                                         "https://amazon.com", "na", "seller"),
    "a bare path, from Seller Central Europe": (CONFIRM, {"referer": "https://sellercentral-europe.amazon.com/apps/x"},
                                                "A3FHEXAMPLEYWS", "https://sellercentral-europe.amazon.com", "eu",
                                                "seller"),
    "a bare path, no referer": (CONFIRM, {}, "A3FHEXAMPLEYWS", "https://sellercentral.amazon.com", "na", "seller"),
    "a bare path, a vendor, no referer": (CONFIRM, {}, "amzn1.vg.1234567", "https://vendorcentral.amazon.com", "na",
                                          "vendor"),
    "a bare path, a referer off Amazon": (CONFIRM, {"referer": "https://evil.example/"}, "A3FHEXAMPLEYWS",
                                          "https://sellercentral.amazon.com", "na", "seller"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("callback", "headers", "seller", "origin", "region", "account_type"),
    CALLBACK_FORMS.values(),
    ids=CALLBACK_FORMS.keys(),
)
def test_each_callback_form_amazon_sends_goes_back_to_amazon_with_the_hosts_region_and_account_type(
    browser, amazon_hosts, callback, headers, seller, origin, region, account_type
):
    result = login(browser, callback, seller=seller, **headers)

    assert result["statusCode"] == 302, result["body"]
    target = urlsplit(result["headers"]["Location"])
    assert f"{target.scheme}://{target.netloc}" == origin and target.path == CONFIRM
    assert query_of(result["headers"]["Location"])["amazon_state"] == "amz-1"
    claims = claims_of(result)
    assert (claims.region, claims.account_type, claims.reference) == (region, account_type, None)


def test_a_bare_path_completes_with_the_amazon_host_the_browsers_own_flow_started_at(browser, amazon_hosts):
    browser.get("/authorize?region=fe&account_type=vendor&reference=cust-7")

    result = login(browser, CONFIRM, seller="amzn1.vg.1234567")

    assert result["headers"]["Location"].startswith(f"https://vendorcentral.amazon.co.jp{CONFIRM}?")
    claims = claims_of(result)
    assert (claims.region, claims.account_type, claims.reference) == ("fe", "vendor", "cust-7")


NOT_AMAZON = {
    "protocol-relative": "//evil.example/apps/authorize/confirm/x",
    "a path without its slash": "apps/authorize/confirm/x",
    "plain http": f"http://sellercentral.amazon.com{CONFIRM}",
    "another host": f"https://amazon.com.evil.example{CONFIRM}",
    "www.amazon.com (not a documented form)": f"https://www.amazon.com{CONFIRM}",
}


@pytest.mark.parametrize("callback", NOT_AMAZON.values(), ids=NOT_AMAZON.keys())
def test_anything_else_is_a_400_page_that_sends_the_browser_nowhere(browser, amazon_hosts, callback):
    result = login(browser, callback)

    assert result["statusCode"] == 400 and "Location" not in result["headers"]
    assert "not an Amazon consent address" in result["body"]


def test_login_clears_the_flow_cookie_and_sets_a_state_cookie_of_its_own(browser, amazon_hosts):
    browser.get("/authorize?region=na")
    first_nonce = browser.cookies[state.COOKIE_NAME]

    login(browser, f"https://sellercentral.amazon.com{CONFIRM}")

    assert state.FLOW_COOKIE_NAME not in browser.cookies
    assert browser.cookies[state.COOKIE_NAME] != first_nonce
