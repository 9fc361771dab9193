"""The simulator's flows that start at Amazon (the Appstore's "Authorize now", Manage Your Apps'
"Re-authorize") and the hop through the application's Login URI back to Amazon's confirm endpoint, as
DEVGUIDE-2021's Appstore workflow describes them; and the switches for what the sources leave open."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from devstack.amazon import AmazonSimulator
from devstack.testapp import Clock, running_simulator
from tests.unit.test_amazon_simulator import (
    APP,
    APP_ID,
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    Form,
    consent,
    exchange,
    redirect_query,
)

LOGIN_URI = "https://broker.example/login?tenant=7"


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def running(clock):
    redirect_uris = [CALLBACK, "https://broker.example/other"]
    with running_simulator(APP, redirect_uris=redirect_uris, login_uri=LOGIN_URI, clock=clock) as sim:
        yield sim


@pytest.fixture
def sim(running, clock):
    running.reset()
    running.app_is_draft = True
    clock.now = 1_700_000_000.0
    yield running
    running.reset()
    running.app_is_draft = True


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def get(http, url: str, **params) -> requests.Response:
    return http.get(url, params=params, allow_redirects=False, timeout=10)


def follow_link(http, base: str, page: requests.Response, label: str) -> requests.Response:
    """Click the link labelled `label` on `page` (the simulator's links are relative)."""
    marker = f'">{label}</a>'
    href = page.text[: page.text.index(marker)].rsplit('href="', 1)[1].replace("&amp;", "&")
    return get(http, base + href)


def login_uri_query(response: requests.Response) -> dict[str, str]:
    target, query = redirect_query(response)
    assert target == "https://broker.example/login"
    return query


def authorized_partner(sim, http, seller: str = "A3FHEXAMPLEYWS") -> str:
    assert exchange(sim, http, sim.issue_code(seller, CALLBACK)).status_code == 200
    return seller


def renewal_hop(sim, http, partner: str, base: str | None = None) -> dict[str, str]:
    base = base or sim.base_url
    apps = get(http, f"{base}/apps/manage", selling_partner_id=partner)
    form = Form(follow_link(http, base, apps, "Re-authorize").text)
    return login_uri_query(form.submit(sim, http, "Confirm", base=base))


def back_to_amazon(sim, http, hop: dict[str, str], **params) -> requests.Response:
    query = {"amazon_state": hop["amazon_state"], "state": "app-state-1", "version": "beta", **params}
    return get(http, hop["amazon_callback_uri"] + "?" + urlencode(query))


# ---------------------------------------------------------------- the Appstore


def test_the_appstore_detail_page_authorize_now_leads_through_the_login_uri(sim, http):
    # Given a published application's Appstore detail page
    sim.app_is_draft = False
    page = get(http, f"{sim.base_url}/apps/appstore/{APP_ID}")
    assert page.status_code == 200 and ">Authorize now</a>" in page.text

    # When the seller clicks "Authorize now" and confirms on the consent page
    form = Form(follow_link(http, sim.base_url, page, "Authorize now").text)
    seller = form.fields["selling_partner_id"]
    hop = login_uri_query(form.submit(sim, http, "Confirm"))

    # Then Amazon loads the Login URI with its callback, a state of its own and the seller, not version=beta
    assert hop["amazon_callback_uri"] == f"{sim.base_url}/apps/authorize/confirm/{APP_ID}"
    assert hop["selling_partner_id"] == seller and len(hop["amazon_state"]) >= 24
    assert hop["tenant"] == "7" and "version" not in hop
    assert sim.refresh_tokens(seller) == []  # nothing is granted before the app sends the browser back


@pytest.mark.parametrize(("draft", "site"), [(True, "seller"), (False, "vendor")], ids=["draft app", "Vendor Central"])
def test_there_is_no_appstore_page_for_a_draft_app_or_on_vendor_central(sim, http, draft, site):
    sim.app_is_draft = draft
    base = sim.vendor_central_url if site == "vendor" else sim.base_url

    assert get(http, f"{base}/apps/appstore/{APP_ID}").status_code == 404
    assert get(http, f"{base}/apps/authorize/start", application_id=APP_ID, flow="appstore").status_code == 404


# ---------------------------------------------------------------- Amazon's confirm endpoint


def test_the_confirm_endpoint_redirects_with_the_apps_state_the_partner_and_a_code_that_works(sim, http):
    partner = authorized_partner(sim, http)
    hop = renewal_hop(sim, http, partner)

    target, query = redirect_query(back_to_amazon(sim, http, hop))

    assert target == CALLBACK
    assert (query["state"], query["selling_partner_id"]) == ("app-state-1", partner)
    assert exchange(sim, http, query["spapi_oauth_code"]).status_code == 200


def test_the_confirm_endpoint_uses_the_redirect_uri_the_app_names_when_it_is_registered(sim, http):
    hop = renewal_hop(sim, http, authorized_partner(sim, http))

    target, _ = redirect_query(back_to_amazon(sim, http, hop, redirect_uri="https://broker.example/other"))

    assert target == "https://broker.example/other"


def test_amazon_state_works_once(sim, http):
    hop = renewal_hop(sim, http, authorized_partner(sim, http))
    assert back_to_amazon(sim, http, hop).status_code == 302

    again = back_to_amazon(sim, http, hop)

    assert again.status_code == 400 and "expired" in again.text


REFUSED_CONFIRMS = {
    "unregistered redirect_uri": ({"redirect_uri": "https://evil.example/cb"}, "MD5101"),
    "no state": ({"state": ""}, "The state parameter is missing"),
    "draft app without version=beta": ({"version": ""}, "MD1000"),
    "unknown amazon_state": ({"amazon_state": "forged"}, "expired"),
}


@pytest.mark.parametrize(("params", "says"), REFUSED_CONFIRMS.values(), ids=REFUSED_CONFIRMS.keys())
def test_a_confirm_amazon_cannot_honour_is_an_error_page_and_grants_nothing(sim, http, params, says):
    partner = authorized_partner(sim, http)
    hop = renewal_hop(sim, http, partner)
    before = sim.calls()["consent.confirm"]

    response = back_to_amazon(sim, http, hop, **params)

    assert response.status_code == 400 and says in response.text and "Location" not in response.headers
    assert sim.calls()["consent.confirm"] == before


def test_the_confirm_endpoint_of_another_application_is_md9100(sim, http):
    hop = renewal_hop(sim, http, authorized_partner(sim, http))
    other = hop["amazon_callback_uri"].replace(APP_ID, "amzn1.sp.solution.other")

    response = back_to_amazon(sim, http, {**hop, "amazon_callback_uri": other})

    assert response.status_code == 400 and "MD9100" in response.text


def test_an_amazon_state_expires_and_belongs_to_the_site_that_issued_it(sim, http, clock):
    partner = authorized_partner(sim, http)
    vendor_hop = renewal_hop(sim, http, authorized_partner(sim, http, "amzn1.vg.2072811"), sim.vendor_central_url)
    moved = vendor_hop["amazon_callback_uri"].replace(sim.vendor_central_url, sim.base_url)
    assert back_to_amazon(sim, http, {**vendor_hop, "amazon_callback_uri": moved}).status_code == 400

    hop = renewal_hop(sim, http, partner)
    clock.now += 601

    assert back_to_amazon(sim, http, hop).status_code == 400


# ---------------------------------------------------------------- Manage Your Apps


def test_manage_your_apps_lists_the_app_a_partner_authorized_with_its_expiry(sim, http):
    partner = authorized_partner(sim, http)

    page = get(http, f"{sim.base_url}/apps/manage", selling_partner_id=partner)

    assert page.status_code == 200 and APP_ID in page.text and ">Re-authorize</a>" in page.text
    assert "2024-11-13" in page.text  # 1_700_000_000 (2023-11-14 UTC) plus 365 days


@pytest.mark.parametrize("revoked", [False, True], ids=["never authorized", "revoked"])
def test_manage_your_apps_lists_nothing_for_a_partner_without_a_live_authorization(sim, http, revoked):
    partner = authorized_partner(sim, http) if revoked else "A1NEVERAUTHORIZED"
    sim.revoke(partner)

    page = get(http, f"{sim.base_url}/apps/manage", selling_partner_id=partner)

    assert page.status_code == 200 and "not authorized any application" in page.text
    start = get(http, f"{sim.base_url}/apps/authorize/start", application_id=APP_ID, flow="renewal",
                selling_partner_id=partner)  # fmt: skip
    assert start.status_code == 400


def test_re_authorize_is_locked_to_the_signed_in_partner_and_a_draft_apps_renewal_carries_version_beta(sim, http):
    partner = authorized_partner(sim, http)
    apps = get(http, f"{sim.base_url}/apps/manage", selling_partner_id=partner)
    page = follow_link(http, sim.base_url, apps, "Re-authorize")
    form = Form(page.text)
    assert "selling_partner_id" not in form.inputs  # no field to type another id into

    hop = login_uri_query(form.submit(sim, http, "Confirm"))

    assert (hop["selling_partner_id"], hop["version"]) == (partner, "beta")


def test_a_renewal_submitted_for_a_partner_who_never_authorized_is_refused(sim, http):
    partner = authorized_partner(sim, http)
    form = Form(follow_link(http, sim.base_url, get(http, f"{sim.base_url}/apps/manage",
                                                    selling_partner_id=partner), "Re-authorize").text)  # fmt: skip

    response = form.submit(sim, http, "Confirm", selling_partner_id="A9OTHERSELLER99")

    assert response.status_code == 400 and "not authorized for your account" in response.text


def test_cancel_on_an_amazon_started_consent_stays_on_amazon(sim, http):
    partner = authorized_partner(sim, http)
    apps = get(http, f"{sim.base_url}/apps/manage", selling_partner_id=partner)
    form = Form(follow_link(http, sim.base_url, apps, "Re-authorize").text)

    response = form.submit(sim, http, "Cancel")

    assert response.status_code == 200 and "Authorization cancelled" in response.text
    assert "Location" not in response.headers


def test_a_renewal_keeps_the_partners_account_as_it_was(sim, http):
    partner = authorized_partner(sim, http)
    sim.set_account(partner, store_name="Kept store", marketplaces=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    before = sim.account(partner)

    _, query = redirect_query(back_to_amazon(sim, http, renewal_hop(sim, http, partner)))
    assert exchange(sim, http, query["spapi_oauth_code"]).status_code == 200

    assert sim.account(partner) == before


# ---------------------------------------------------------------- switches for what the sources leave open


def test_with_the_website_hop_a_consent_the_app_started_goes_through_the_login_uri_too(sim, http):
    sim.set_behaviour(website_login_hop=True)
    form = Form(consent(sim, http).text)

    hop = login_uri_query(form.submit(sim, http, "Confirm"))

    assert hop["selling_partner_id"] == form.fields["selling_partner_id"] and hop["version"] == "beta"
    assert "state" not in hop  # Amazon keeps the app's first state to itself (inferred: no report shows it)


def test_with_relative_callbacks_amazon_sends_the_bare_path(sim, http):
    assert http.post(f"{sim.base_url}/_control/behaviour", json={"relative_callback_uri": True}).status_code == 200

    hop = renewal_hop(sim, http, authorized_partner(sim, http))

    assert hop["amazon_callback_uri"] == f"/apps/authorize/confirm/{APP_ID}"


@pytest.mark.parametrize("body", [{"no_such_switch": True}, {"website_login_hop": "yes"}])
def test_the_behaviour_switches_refuse_what_they_do_not_know(sim, http, body):
    response = http.post(f"{sim.base_url}/_control/behaviour", json=body)

    assert response.status_code == 400


def test_the_login_uri_query_is_what_a_browser_would_load(sim, http):
    hop = renewal_hop(sim, http, authorized_partner(sim, http))

    assert parse_qs(urlsplit(LOGIN_URI).query) == {"tenant": ["7"]}
    assert set(hop) == {"tenant", "amazon_callback_uri", "amazon_state", "selling_partner_id", "version"}


def test_an_app_without_a_login_uri_cannot_take_a_flow_that_starts_at_amazon(http):
    sim = AmazonSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, application_id=APP_ID,
                          redirect_uris=[CALLBACK])  # fmt: skip
    sim.start()
    try:
        partner = authorized_partner(sim, http)
        apps = get(http, f"{sim.base_url}/apps/manage", selling_partner_id=partner)
        form = Form(follow_link(http, sim.base_url, apps, "Re-authorize").text)

        response = form.submit(sim, http, "Confirm")
    finally:
        sim.stop()

    assert response.status_code == 400 and "no Login URI" in response.text and "Location" not in response.headers
