"""The Amazon simulator behaves like Amazon's consent page, LWA and SP-API, as the reference describes."""

from __future__ import annotations

import re
import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.amazon import AmazonSimulator
from devstack.testapp import TEST_APP, Clock, running_simulator

APP = TEST_APP
CLIENT_ID, CLIENT_SECRET, APP_ID = APP["client_id"], APP["client_secret"], APP["application_id"]
CALLBACK = "https://broker.example/callback"
SELLER = "A3FHEXAMPLEYWS"
ORDERS_RESOURCE = {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def running(clock):
    with running_simulator(APP, redirect_uris=[CALLBACK, "https://broker.example/other?tenant=7"], clock=clock) as sim:
        yield sim


@pytest.fixture
def sim(running, clock):
    running.reset()
    clock.now = 1_700_000_000.0
    yield running
    running.reset()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def token(sim, http, **params):
    return http.post(f"{sim.base_url}/auth/o2/token", data=params, timeout=10)


def exchange(sim, http, code, redirect_uri=CALLBACK, **overrides):
    params = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    return token(sim, http, **{**params, **overrides})


def refresh(sim, http, refresh_token, **overrides):
    params = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    return token(sim, http, **{**params, **overrides})


def authorize(sim, http, seller=SELLER) -> dict:
    response = exchange(sim, http, sim.issue_code(seller, CALLBACK))
    assert response.status_code == 200
    return response.json()


def sellers(sim, http, access_token):
    headers = {"x-amz-access-token": access_token} if access_token is not None else {}
    return http.get(f"{sim.base_url}/sellers/v1/marketplaceParticipations", headers=headers, timeout=10)


def create_rdt(sim, http, access_token, body):
    return http.post(
        f"{sim.base_url}/tokens/2021-03-01/restrictedDataToken",
        json=body,
        headers={"x-amz-access-token": access_token},
        timeout=10,
    )


def denied_details(response) -> str:
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException" and response.headers["x-amzn-RequestId"]
    (error,) = response.json()["errors"]
    assert error["code"] == "Unauthorized"
    assert error["message"] == "Access to requested resource is denied."
    return error["details"]


class Form(HTMLParser):
    """Collects what a browser would see and submit on the consent page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}
        self.inputs: dict[str, dict] = {}
        self.labels: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self._label_for = None
        self._button = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag == "input":
            self.fields[attrs["name"]] = attrs.get("value", "")
            if "id" in attrs:
                self.inputs[attrs["id"]] = attrs
        elif tag == "label":
            self._label_for = attrs["for"]
            self.labels[self._label_for] = ""
        elif tag == "button":
            self._button = (attrs["name"], attrs["value"])

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] += data
        if self._button:
            self.buttons[data.strip()] = self._button

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None
        elif tag == "button":
            self._button = None

    def submit(self, sim, http, button: str, *, base: str | None = None, **overrides):
        name, value = self.buttons[button]
        data = {**self.fields, name: value, **overrides}
        return http.post((base or sim.base_url) + self.action, data=data, allow_redirects=False, timeout=10)


def consent(sim, http, *, base: str | None = None, **params):
    query = {"application_id": APP_ID, "state": "st-123", "version": "beta", **params}
    return http.get(f"{base or sim.base_url}/apps/authorize/consent", params=query, timeout=10)


def redirect_query(response) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    return f"{location.scheme}://{location.netloc}{location.path}", query


# ---------------------------------------------------------------- authorization code grant


def test_code_exchange_returns_lwa_tokens_with_no_store_headers(sim, http):
    response = exchange(sim, http, sim.issue_code(SELLER, CALLBACK))

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("Atza|") and len(body["access_token"]) > 200
    assert body["refresh_token"].startswith("Atzr|")
    assert SELLER not in body["access_token"] + body["refresh_token"]
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    assert sim.refresh_tokens(SELLER) == [body["refresh_token"]]


def test_code_works_only_once(sim, http):
    code = sim.issue_code(SELLER, CALLBACK)
    assert exchange(sim, http, code).status_code == 200

    again = exchange(sim, http, code)

    assert again.status_code == 400
    body = again.json()
    assert body["error"] == "invalid_grant"
    assert body["error_description"] == "The request has an invalid grant parameter : code"
    assert body["request_id"] and body["error_index"]


def test_code_expires_after_its_ttl(sim, http, clock):
    code = sim.issue_code(SELLER, CALLBACK)
    clock.now += 301

    response = exchange(sim, http, code)

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_for_another_redirect_uri_is_an_invalid_grant(sim, http):
    code = sim.issue_code(SELLER, CALLBACK)

    response = exchange(sim, http, code, redirect_uri="https://broker.example/elsewhere")

    assert response.status_code == 400
    assert response.json()["error_description"] == "The request has an invalid grant parameter : code"


def test_each_exchange_issues_a_new_refresh_token_and_old_ones_stay_valid(sim, http):
    first = authorize(sim, http)["refresh_token"]
    second = authorize(sim, http)["refresh_token"]

    assert first != second
    assert sim.refresh_tokens(SELLER) == [first, second]
    assert refresh(sim, http, first).status_code == 200


def test_json_body_is_accepted_like_the_java_sdk_sends(sim, http):
    params = {
        "grant_type": "authorization_code",
        "code": sim.issue_code(SELLER, CALLBACK),
        "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }

    response = http.post(f"{sim.base_url}/auth/o2/token", json=params, timeout=10)

    assert response.status_code == 200 and response.json()["refresh_token"].startswith("Atzr|")


# ---------------------------------------------------------------- client authentication and request errors


@pytest.mark.parametrize("overrides", [{"client_secret": "wrong"}, {"client_id": "amzn1.application-oa2-client.other"}])
def test_wrong_client_credentials_are_invalid_client(sim, http, overrides):
    code = sim.issue_code(SELLER, CALLBACK)

    response = exchange(sim, http, code, **overrides)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"] == "Client authentication failed"
    assert exchange(sim, http, code).status_code == 200, "a failed client auth does not use up the code"


def test_expired_client_secret_rejects_every_grant_until_valid_again(sim, http):
    refresh_token = authorize(sim, http)["refresh_token"]
    sim.set_client_secret_valid(False)

    assert refresh(sim, http, refresh_token).json()["error"] == "invalid_client"
    sim.set_client_secret_valid(True)
    assert refresh(sim, http, refresh_token).status_code == 200


def test_missing_parameter_is_invalid_request(sim, http):
    response = token(sim, http, grant_type="refresh_token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_malformed_json_body_is_invalid_request(sim, http):
    response = http.post(
        f"{sim.base_url}/auth/o2/token", data=b"{oops", headers={"Content-Type": "application/json"}, timeout=10
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_unknown_grant_type_is_unsupported(sim, http):
    response = token(sim, http, grant_type="password", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    assert sim.calls()["token.error"] == 1


# ---------------------------------------------------------------- refresh and revocation


def test_refresh_returns_a_new_access_token_and_the_same_refresh_token(sim, http):
    granted = authorize(sim, http)

    response = refresh(sim, http, granted["refresh_token"])

    body = response.json()
    assert response.status_code == 200
    assert body["refresh_token"] == granted["refresh_token"]
    assert body["access_token"].startswith("Atza|") and body["access_token"] != granted["access_token"]
    assert body["expires_in"] == 3600
    assert sim.calls()["token.refresh_token"] == 1


def test_revoked_seller_gets_invalid_grant_and_loses_access_tokens(sim, http):
    granted = authorize(sim, http)
    authorize(sim, http)
    other = authorize(sim, http, seller="A1OTHERSELLER1")

    assert sim.revoke(SELLER) == 2

    response = refresh(sim, http, granted["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {
        **response.json(),
        "error": "invalid_grant",
        "error_description": "The request has an invalid grant parameter : refresh_token. "
        "User may have revoked or didn't grant the permission.",
    }
    assert denied_details(sellers(sim, http, granted["access_token"])) == (
        "The access token you provided is revoked, malformed or invalid."
    )
    assert refresh(sim, http, other["refresh_token"]).status_code == 200
    assert sim.refresh_tokens(SELLER) == []


def test_seller_can_reauthorize_after_revocation(sim, http):
    authorize(sim, http)
    sim.revoke(SELLER)

    granted = authorize(sim, http)

    assert sellers(sim, http, granted["access_token"]).status_code == 200


# ---------------------------------------------------------------- client credentials


@pytest.mark.parametrize("scope", ["sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"])
def test_client_credentials_grant_returns_a_grantless_token(sim, http, scope):
    response = token(
        sim, http, grant_type="client_credentials", scope=scope, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )

    body = response.json()
    assert response.status_code == 200
    assert body["access_token"].startswith("Atc|") and body["expires_in"] == 3600
    assert "refresh_token" not in body


@pytest.mark.parametrize("scope", [None, "sellingpartnerapi::migration", "profile"])
def test_client_credentials_with_a_bad_scope_is_invalid_scope(sim, http, scope):
    params = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    if scope:
        params["scope"] = scope

    response = token(sim, http, **params)

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


# ---------------------------------------------------------------- consent page


def test_consent_page_shows_the_app_a_prefilled_seller_id_and_two_buttons(sim, http):
    response = consent(sim, http, state="<script>x</script>")

    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert f"Authorize {APP_ID}?" in response.text
    assert "<script>x" not in response.text
    form = Form(response.text)
    (field_id,) = [key for key, text in form.labels.items() if text == "Selling partner ID"]
    assert re.fullmatch(r"A[A-Z0-9]{13}", form.inputs[field_id]["value"])
    assert set(form.buttons) == {"Confirm", "Cancel"}
    assert form.fields["state"] == "<script>x</script>"
    assert form.fields["redirect_uri"] == CALLBACK, "absent redirect_uri means the first registered one"
    assert sim.calls()["consent"] == 1


def test_confirm_redirects_with_state_seller_and_a_code_that_exchanges(sim, http):
    form = Form(consent(sim, http).text)

    target, query = redirect_query(form.submit(sim, http, "Confirm", selling_partner_id=SELLER))

    assert target == CALLBACK
    assert query["state"] == "st-123" and query["selling_partner_id"] == SELLER
    assert re.fullmatch(r"[A-Za-z0-9]{20,}", query["spapi_oauth_code"])
    assert exchange(sim, http, query["spapi_oauth_code"]).status_code == 200
    assert len(sim.refresh_tokens(SELLER)) == 1


def test_confirm_keeps_the_query_of_the_redirect_uri(sim, http):
    form = Form(consent(sim, http, redirect_uri="https://broker.example/other?tenant=7").text)

    target, query = redirect_query(form.submit(sim, http, "Confirm"))

    assert target == "https://broker.example/other"
    assert query["tenant"] == "7" and query["selling_partner_id"] == form.fields["selling_partner_id"]


def test_confirm_with_an_invalid_seller_id_shows_the_page_again(sim, http):
    form = Form(consent(sim, http).text)

    response = form.submit(sim, http, "Confirm", selling_partner_id="bad id")

    assert response.status_code == 400
    assert "Enter a seller ID: A followed by 7 to 19 capital letters and digits." in response.text
    assert Form(response.text).buttons.keys() == {"Confirm", "Cancel"}


def test_vendor_central_signs_in_a_vendor_group_whose_code_is_a_vendor_grant(sim, http):
    # Given Vendor Central's consent page (a host of its own)
    page = consent(sim, http, base=sim.vendor_central_url)
    form = Form(page.text)
    vendor = form.fields["selling_partner_id"]
    assert page.status_code == 200 and "vendor central" in page.text
    assert re.fullmatch(r"amzn1\.vg\.[0-9]{7}", vendor)

    # When the vendor confirms
    target, query = redirect_query(form.submit(sim, http, "Confirm", base=sim.vendor_central_url))

    # Then the code is theirs, and Amazon knows them as a vendor
    assert target == CALLBACK and query["selling_partner_id"] == vendor
    assert exchange(sim, http, query["spapi_oauth_code"]).status_code == 200
    assert sim.account(vendor)["account_type"] == "vendor"


@pytest.mark.parametrize(
    ("site", "typed", "hint"),
    [("vendor", "A3FHEXAMPLEYWS", "Enter a vendor group ID"), ("seller", "amzn1.vg.2072811", "Enter a seller ID")],
)
def test_each_central_signs_in_only_its_own_kind_of_account(sim, http, site, typed, hint):
    base = sim.vendor_central_url if site == "vendor" else sim.base_url
    form = Form(consent(sim, http, base=base).text)

    response = form.submit(sim, http, "Confirm", base=base, selling_partner_id=typed)

    assert response.status_code == 400 and hint in response.text
    assert sim.refresh_tokens(typed) == [] and sim.account(typed) is None


def test_cancel_stays_on_amazon_and_tells_the_app_nothing(sim, http):
    form = Form(consent(sim, http).text)

    response = form.submit(sim, http, "Cancel")

    assert response.status_code == 200 and "Location" not in response.headers
    assert "Authorization cancelled" in response.text and "Nothing was shared" in response.text
    assert sim.calls()["consent.cancel"] == 1 and sim.calls()["consent.confirm"] == 0


def test_with_the_switch_cancel_redirects_with_access_denied_and_no_code(sim, http):
    sim.set_behaviour(cancel_redirects=True)
    form = Form(consent(sim, http).text)

    response = form.submit(sim, http, "Cancel")

    _, query = redirect_query(response)
    assert "error=access_denied&error_description=The+user+denied+the+request" in response.headers["Location"]
    assert query["state"] == "st-123"
    assert "spapi_oauth_code" not in query and "selling_partner_id" not in query


def test_unregistered_redirect_uri_is_md5101(sim, http):
    response = consent(sim, http, redirect_uri="https://evil.example/cb")

    assert response.status_code == 400 and "MD5101" in response.text


def test_forged_redirect_uri_in_the_form_is_md5101(sim, http):
    form = Form(consent(sim, http).text)

    response = form.submit(sim, http, "Confirm", redirect_uri="https://evil.example/cb")

    assert response.status_code == 400 and "MD5101" in response.text


def test_draft_app_without_version_beta_is_md1000(sim, http):
    response = http.get(
        f"{sim.base_url}/apps/authorize/consent", params={"application_id": APP_ID, "state": "s"}, timeout=10
    )

    assert response.status_code == 400 and "MD1000" in response.text


def test_consent_without_state_is_an_error_page(sim, http):
    response = http.get(
        f"{sim.base_url}/apps/authorize/consent", params={"application_id": APP_ID, "version": "beta"}, timeout=10
    )

    assert response.status_code == 400 and "state" in response.text


def test_unknown_application_id_is_an_error_page(sim, http):
    response = consent(sim, http, application_id="amzn1.sp.solution.unknown")

    assert response.status_code == 400 and "MD9100" in response.text


def test_published_app_ignores_version_and_without_registered_uris_refuses():
    published = AmazonSimulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, application_id=APP_ID, app_is_draft=False
    )
    base = published.start()
    try:
        url = f"{base}/apps/authorize/consent"
        params = {"application_id": APP_ID, "state": "s"}
        assert "MD5101" in requests.get(url, params=params, timeout=10).text
        published.redirect_uris.append(CALLBACK)
        assert requests.get(url, params=params, timeout=10).status_code == 200
    finally:
        published.stop()


# ---------------------------------------------------------------- SP-API


def test_valid_seller_token_reads_marketplace_participations(sim, http):
    response = sellers(sim, http, authorize(sim, http)["access_token"])

    assert response.status_code == 200
    (participation,) = response.json()["payload"]
    assert participation["marketplace"]["id"] == "ATVPDKIKX0DER"
    assert participation["participation"] == {"isParticipating": True, "hasSuspendedListings": False}


def test_each_seller_sees_its_own_account_with_the_documented_shape_and_rate_limit(sim, http):
    mine = sellers(sim, http, authorize(sim, http)["access_token"])
    theirs = sellers(sim, http, authorize(sim, http, "A1OTHERSELLER9")["access_token"])

    assert mine.headers["x-amzn-RateLimit-Limit"] == "0.016"
    (participation,) = mine.json()["payload"]
    assert set(participation) == {"marketplace", "participation", "storeName"}
    assert set(participation["marketplace"]) == {
        "id", "countryCode", "name", "defaultCurrencyCode", "defaultLanguageCode", "domainName"
    }  # fmt: skip
    assert participation["storeName"] == sim.account(SELLER)["store_name"]
    assert theirs.json()["payload"][0]["storeName"] != participation["storeName"]


def test_an_account_set_through_the_control_api_is_what_the_sellers_api_shows(sim, http):
    access_token = authorize(sim, http)["access_token"]
    body = {
        "selling_partner_id": SELLER,
        "store_name": "Kettle Corner",
        "marketplaces": ["A1PA6795UKMFR9", "A1F83G8C2ARO7P"],
    }

    changed = http.post(f"{sim.base_url}/_control/accounts", json=body)

    assert changed.status_code == 200 and changed.json()["store_name"] == "Kettle Corner"
    payload = sellers(sim, http, access_token).json()["payload"]
    assert [(p["marketplace"]["countryCode"], p["storeName"]) for p in payload] == [
        ("DE", "Kettle Corner"),
        ("GB", "Kettle Corner"),
    ]
    shown = http.get(f"{sim.base_url}/_control/accounts", params={"selling_partner_id": SELLER}).json()
    assert shown["marketplaces"] == ["A1PA6795UKMFR9", "A1F83G8C2ARO7P"]


@pytest.mark.parametrize(
    "body",
    [
        {"selling_partner_id": SELLER, "marketplaces": ["NOTAMARKET"]},
        {"selling_partner_id": SELLER, "marketplaces": []},
        {"selling_partner_id": SELLER, "account_type": "admin"},
        {"selling_partner_id": SELLER, "store_name": ""},
        {"selling_partner_id": "lower-case", "store_name": "x"},
        {"selling_partner_id": SELLER, "colour": "red"},
    ],
)
def test_control_api_rejects_a_malformed_account(sim, http, body):
    assert http.post(f"{sim.base_url}/_control/accounts", json=body).status_code == 400


def test_an_app_without_the_role_is_refused_with_empty_details(sim, http):
    access_token = authorize(sim, http)["access_token"]

    assert http.post(f"{sim.base_url}/_control/roles", json={"sellers_api": False}).status_code == 200

    assert denied_details(sellers(sim, http, access_token)) == ""
    sim.set_sellers_role(True)
    assert sellers(sim, http, access_token).status_code == 200


def test_a_vendors_token_is_refused_by_the_sellers_api(sim, http):
    access_token = authorize(sim, http)["access_token"]
    sim.set_account(SELLER, account_type="vendor")

    assert denied_details(sellers(sim, http, access_token)) == ""


def test_reset_forgets_accounts_and_gives_the_role_back(sim, http):
    sim.set_account(SELLER, store_name="Before reset")
    sim.set_sellers_role(False)

    sim.reset()

    assert sim.account(SELLER) is None
    response = sellers(sim, http, authorize(sim, http)["access_token"])
    assert response.status_code == 200 and response.json()["payload"][0]["storeName"] != "Before reset"


def test_expired_access_token_is_denied_as_expired(sim, http, clock):
    access_token = authorize(sim, http)["access_token"]
    clock.now += 3601

    assert denied_details(sellers(sim, http, access_token)) == "The access token you provided has expired."


def test_an_unknown_token_is_denied_as_invalid(sim, http):
    details = denied_details(sellers(sim, http, "Atza|not-issued-here"))

    assert details == "The access token you provided is revoked, malformed or invalid."


@pytest.mark.parametrize("header", [None, ""], ids=["no header", "empty header"])
def test_a_request_without_a_token_is_denied_as_missing_it(sim, http, header):
    details = denied_details(sellers(sim, http, header))

    assert details == "Access token is missing in the request header."


def test_an_rdt_for_a_data_element_the_app_has_no_role_for_is_invalid_input_naming_them(sim, http):
    access_token = authorize(sim, http)["access_token"]
    sim.set_data_elements(["buyerTaxInformation"])
    resource = {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["shippingAddress", "buyerInfo"]}

    response = create_rdt(sim, http, access_token, {"restrictedResources": [resource]})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": "InvalidInput",
            "message": "Application does not have access to one or more requested data elements: "
            "[buyerInfo, shippingAddress]",
            "details": "",
        }
    ]


def test_a_throttled_rdt_answers_as_amazon_does_with_retry_after_only_when_asked(sim, http):
    access_token = authorize(sim, http)["access_token"]
    body = {"restrictedResources": [ORDERS_RESOURCE]}
    sim.set_fault("rdt", status=429, count=1)
    plain = create_rdt(sim, http, access_token, body)
    sim.set_fault("rdt", status=429, count=1, retry_after=2)

    told = create_rdt(sim, http, access_token, body)

    assert plain.status_code == told.status_code == 429
    assert plain.json()["errors"][0]["code"] == "QuotaExceeded"
    assert plain.headers["x-amzn-ErrorType"] == "TooManyRequestsException" and "Retry-After" not in plain.headers
    assert told.headers["Retry-After"] == "2"


def test_a_grant_whose_token_belongs_to_another_client_is_unauthorized_client_while_the_app_works(sim, http):
    refresh_token = authorize(sim, http)["refresh_token"]
    other = authorize(sim, http, "A1OTHERSELLER1")["refresh_token"]
    sim.set_client_mismatch(SELLER)

    refused = refresh(sim, http, refresh_token)

    assert refused.status_code == 400
    assert (refused.json()["error"], refused.json()["error_description"]) == (
        "unauthorized_client",
        "Not authorized for requested operation",
    )
    assert refresh(sim, http, other).status_code == 200
    grantless = token(sim, http, grant_type="client_credentials", scope="sellingpartnerapi::notifications",
                      client_id=CLIENT_ID, client_secret=CLIENT_SECRET)  # fmt: skip
    assert grantless.status_code == 200


def test_grantless_token_cannot_call_seller_operations(sim, http):
    grantless = token(
        sim,
        http,
        grant_type="client_credentials",
        scope="sellingpartnerapi::notifications",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ).json()["access_token"]

    assert denied_details(sellers(sim, http, grantless)).startswith("The access token you provided is revoked")


def test_expired_client_secret_denies_sp_api_calls(sim, http):
    access_token = authorize(sim, http)["access_token"]
    sim.set_client_secret_valid(False)

    assert denied_details(sellers(sim, http, access_token)) == "The LWA secret token you provided has expired."


# ---------------------------------------------------------------- restricted data tokens


def test_rdt_is_issued_and_opens_the_orders_endpoint(sim, http):
    access_token = authorize(sim, http)["access_token"]

    response = create_rdt(sim, http, access_token, {"restrictedResources": [ORDERS_RESOURCE]})

    assert response.status_code == 200
    rdt = response.json()["restrictedDataToken"]
    assert rdt.startswith("Atz.sprdt|") and response.json()["expiresIn"] == 3600
    orders = http.get(f"{sim.base_url}/orders/v0/orders", headers={"x-amz-access-token": rdt}, timeout=10)
    assert orders.status_code == 200 and orders.json() == {"payload": {"Orders": []}}
    assert denied_details(sellers(sim, http, rdt)), "an RDT is not a seller access token"


def test_rdt_for_another_path_does_not_open_orders(sim, http):
    access_token = authorize(sim, http)["access_token"]
    resource = {"method": "GET", "path": "/mfn/v0/shipments/{shipmentId}"}
    rdt = create_rdt(sim, http, access_token, {"restrictedResources": [resource]}).json()["restrictedDataToken"]

    orders = http.get(f"{sim.base_url}/orders/v0/orders", headers={"x-amz-access-token": rdt}, timeout=10)

    assert orders.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"restrictedResources": []},
        {"restrictedResources": [ORDERS_RESOURCE] * 51},
        {"restrictedResources": [{**ORDERS_RESOURCE, "method": "PATCH"}]},
        {"restrictedResources": [{**ORDERS_RESOURCE, "path": "orders/v0/orders"}]},
        {"restrictedResources": [{**ORDERS_RESOURCE, "dataElements": ["creditCard"]}]},
        {"targetApplication": 7, "restrictedResources": [ORDERS_RESOURCE]},
    ],
)
def test_rdt_request_outside_the_model_is_invalid_input(sim, http, body):
    access_token = authorize(sim, http)["access_token"]

    response = create_rdt(sim, http, access_token, body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_rdt_needs_a_valid_seller_token(sim, http):
    response = create_rdt(sim, http, "Atza|forged", {"restrictedResources": [ORDERS_RESOURCE]})

    assert denied_details(response) == "The access token you provided is revoked, malformed or invalid."


# ---------------------------------------------------------------- faults


def test_latency_fault_delays_then_answers_normally(sim, http):
    refresh_token = authorize(sim, http)["refresh_token"]
    sim.set_fault("token", latency_ms=200)

    started = time.monotonic()
    response = refresh(sim, http, refresh_token)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert 0.2 <= elapsed < 1.5


@pytest.mark.parametrize(
    ("status", "error"), [(500, "server_error"), (503, "temporarily_unavailable"), (429, "server_error")]
)
def test_token_status_fault_answers_lwa_errors(sim, http, status, error):
    refresh_token = authorize(sim, http)["refresh_token"]
    sim.set_fault("token", status=status)

    response = refresh(sim, http, refresh_token)

    assert response.status_code == status and response.json()["error"] == error


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalFailure"), (503, "InternalFailure"), (429, "QuotaExceeded")]
)
def test_sp_api_status_fault_answers_sp_api_errors(sim, http, status, code):
    access_token = authorize(sim, http)["access_token"]
    sim.set_fault("sellers", status=status)

    response = sellers(sim, http, access_token)

    assert response.status_code == status and response.json()["errors"][0]["code"] == code


@pytest.mark.parametrize("code", ["invalid_request", "access_denied", "unsupported_grant_type", "made_up_code"])
def test_token_fault_with_an_error_answers_that_lwa_code(sim, http, code):
    refresh_token = authorize(sim, http)["refresh_token"]
    sim.set_fault("token", status=400, error=code)

    response = refresh(sim, http, refresh_token)

    assert response.status_code == 400 and response.json()["error"] == code


@pytest.mark.parametrize(
    ("status", "error", "code", "details"),
    [
        (403, None, "Unauthorized", ""),
        (403, "The LWA secret token you provided has expired.", "Unauthorized", "The LWA secret token"),
        (404, None, "NotFound", ""),
        (400, None, "InvalidInput", ""),
    ],
)
def test_sp_api_fault_answers_amazons_refusals(sim, http, status, error, code, details):
    access_token = authorize(sim, http)["access_token"]
    sim.set_fault("rdt", status=status, error=error)

    body = {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders"}]}
    response = create_rdt(sim, http, access_token, body)

    first = response.json()["errors"][0]
    assert response.status_code == status and first["code"] == code and first["details"].startswith(details)


def test_a_fault_error_needs_a_status(sim):
    with pytest.raises(ValueError):
        sim.set_fault("token", error="invalid_request")


def test_fault_with_count_applies_to_that_many_requests(sim, http):
    refresh_token = authorize(sim, http)["refresh_token"]
    sim.set_fault("token", status=503, count=2)

    statuses = [refresh(sim, http, refresh_token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert sim.calls()["token.refresh_token"] == 3 and sim.calls()["token.error"] == 2


def test_consent_fault_shows_an_error_page(sim, http):
    sim.set_fault("consent", status=503)

    assert consent(sim, http).status_code == 503
    sim.set_fault("consent")
    assert consent(sim, http).status_code == 200


def _in_background(call):
    result = {}

    def run():
        try:
            result["response"] = call()
        except requests.RequestException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_hang_lasts_until_the_fault_is_cleared_even_when_its_count_is_used_up(sim):
    refresh_token = authorize(sim, requests)["refresh_token"]
    sim.set_fault("token", hang=True, count=1)
    thread, result = _in_background(lambda: refresh(sim, requests, refresh_token))

    thread.join(0.3)
    assert thread.is_alive(), "the request hangs"
    sim.set_fault("token")
    thread.join(2)

    assert not thread.is_alive()
    assert result["response"].status_code == 200


def test_stop_ends_a_hanging_request_promptly():
    other = AmazonSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, application_id=APP_ID)
    other.start()
    other.set_fault("token", hang=True)
    thread, _ = _in_background(lambda: requests.post(f"{other.base_url}/auth/o2/token", timeout=10))
    thread.join(0.2)
    assert thread.is_alive()

    other.stop()
    thread.join(2)

    assert not thread.is_alive()


def test_set_fault_rejects_unknown_endpoints(sim):
    with pytest.raises(ValueError):
        sim.set_fault("orders", status=500)


def test_concurrent_refreshes_are_all_served(sim):
    refresh_token = authorize(sim, requests)["refresh_token"]
    results = []

    def worker():
        with requests.Session() as session:
            results.extend(refresh(sim, session, refresh_token).status_code for _ in range(10))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert results == [200] * 160
    assert sim.calls()["token.refresh_token"] == 160


# ---------------------------------------------------------------- control API


def test_control_api_switches_the_simulator(sim, http):
    granted = authorize(sim, http)
    control = f"{sim.base_url}/_control"

    assert http.post(f"{control}/revoke", json={"selling_partner_id": SELLER}).json() == {"revoked": 1}
    assert refresh(sim, http, granted["refresh_token"]).json()["error"] == "invalid_grant"

    assert http.post(f"{control}/client-secret", json={"valid": False}).status_code == 200
    assert refresh(sim, http, "Atzr|x").status_code == 401

    assert http.post(f"{control}/reset").status_code == 200
    fault = {"endpoint": "token", "latency_ms": 0, "status": 503, "hang": False, "count": 1}
    assert http.post(f"{control}/fault", json=fault).status_code == 200
    assert refresh(sim, http, "Atzr|x").status_code == 503
    assert refresh(sim, http, "Atzr|x").status_code == 400, "secret valid again after reset, fault used up"

    calls = http.get(f"{control}/calls").json()
    assert calls["token.refresh_token"] == 2 and calls["token.error"] == 2
    assert http.post(f"{control}/calls/reset").status_code == 200
    assert http.get(f"{control}/calls").json()["token.refresh_token"] == 0


def test_control_api_issues_codes_and_lists_refresh_tokens(sim, http):
    control = f"{sim.base_url}/_control"

    code = http.post(f"{control}/code", json={"selling_partner_id": SELLER, "redirect_uri": CALLBACK}).json()
    refresh_token = exchange(sim, http, code["code"]).json()["refresh_token"]

    listed = http.get(f"{control}/refresh-tokens", params={"selling_partner_id": SELLER}).json()
    assert listed == {"refresh_tokens": [refresh_token]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("revoke", b"{not json"),
        ("revoke", b"[]"),
        ("client-secret", b'{"valid": "no"}'),
        ("fault", b'{"endpoint": "nowhere"}'),
        ("fault", b'{"endpoint": "token", "status": 200}'),
    ],
)
def test_control_api_rejects_bad_requests(sim, http, path, body):
    response = http.post(f"{sim.base_url}/_control/{path}", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_simulator_binds_loopback_only():
    with pytest.raises(ValueError):
        AmazonSimulator(client_id="c", client_secret="s", application_id="a", host="0.0.0.0")


def test_an_unknown_path_is_not_found_in_sp_apis_error_shape(sim, http):
    response = http.get(f"{sim.base_url}/catalog/2022-04-01/items", timeout=10)

    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"code": "NotFound", "message": "The requested resource was not found.", "details": ""}]
    }
