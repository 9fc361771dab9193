"""The attack of issue 8 in a real browser: seller A confirms their own account at Amazon and, before the
redirect lands on /callback, its `selling_partner_id` is changed to seller V's. V's grant must not move."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import expect

from sellertoken import names
from sellertoken_client import TokenBroker
from tests.e2e.flows import authorize_over_http
from tests.e2e.test_consent_browser import (
    TOKEN_MARKERS,
    authorize,
    expect_success_page,
    grant_name,
    open_consent,
    press,
    secret_exists,
    seller_field,
    typed_id,
)

pytestmark = pytest.mark.e2e


def grant_record(aws, seller: str) -> tuple:
    """V's secret as stored: value, every version with its stages, tags."""
    name = grant_name("na", seller)
    versions = aws.secretsmanager.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return (
        aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"],
        sorted((v["VersionId"], tuple(sorted(v.get("VersionStages", [])))) for v in versions),
        {t["Key"]: t["Value"] for t in aws.secretsmanager.describe_secret(SecretId=name).get("Tags", [])},
    )


def store_behind(stack, access_token: str) -> str:
    answer = requests.get(
        f"{stack.amazon}/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": access_token}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["payload"][0]["storeName"]


def store_of(stack, seller: str) -> str:
    return requests.get(f"{stack.amazon}/_control/accounts", params={"selling_partner_id": seller}, timeout=5).json()[
        "store_name"
    ]


def edit_redirect(tab, stack, claimed: str) -> list[str]:
    """Change `selling_partner_id` on the request to /callback before it leaves the browser (CDP Fetch: page.route
    is not called for the hops of a redirect). Returns the URLs as Amazon sent them."""
    seen: list[str] = []
    cdp = tab.context.new_cdp_session(tab.page)

    def rewrite(event: dict) -> None:
        url = event["request"]["url"]
        seen.append(url)
        parts = urlsplit(url)
        query = [(k, claimed if k == "selling_partner_id" else v) for k, v in parse_qsl(parts.query)]
        edited = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
        cdp.send("Fetch.continueRequest", {"requestId": event["requestId"], "url": edited})

    cdp.on("Fetch.requestPaused", rewrite)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"{stack.api}/callback?*", "requestStage": "Request"}]})
    return seen


def test_a_redirect_edited_to_another_sellers_id_is_refused_and_the_victims_grant_and_tokens_stay(tab, stack, aws):
    # Given seller V, who authorized (elsewhere), and the token the broker vends for V
    victim = authorize_over_http(stack, typed_id())
    before = grant_record(aws, victim)
    broker = TokenBroker.for_local_stack(stack.endpoints)
    vended = broker.vend({"selling_partner_id": victim, "region": "na"})["access_token"]
    assert store_behind(stack, vended) == store_of(stack, victim)
    aws.events.wait_for(victim)

    # When seller A confirms their own account, and the redirect is changed to say V before it lands
    open_consent(tab, stack, "region=na")
    attacker = seller_field(tab.page).input_value()
    sent = edit_redirect(tab, stack, victim)
    response = press(tab.page, "Confirm")

    # Then Amazon had sent A's id, and the browser shows the refusal page with status 400
    assert len(sent) == 1 and dict(parse_qsl(urlsplit(sent[0]).query))["selling_partner_id"] == attacker
    assert response.status == 400
    expect(tab.page.get_by_role("heading", name="This authorization was refused")).to_be_visible()
    expect(tab.page.locator("body")).to_contain_text("nothing was changed")
    # and V's secret value, versions, stages and tags are unchanged; A got no grant either
    assert grant_record(aws, victim) == before
    assert not secret_exists(aws, grant_name("na", attacker))
    # and the security event is on the bus, naming V, without any token
    events = aws.events.wait_for(victim, count=2)
    assert [e.detail_type for e in events] == [names.EVENT_SELLER_AUTHORIZED, names.EVENT_CONSENT_REFUSED]
    assert events[1].detail["reason"] == "views_differ"
    assert not any(marker in events[1].raw for marker in TOKEN_MARKERS)
    # and the broker still vends V the same token, which opens V's account
    again = broker.vend({"selling_partner_id": victim, "region": "na"})["access_token"]
    assert again == vended and store_behind(stack, again) == store_of(stack, victim) != store_of(stack, attacker)


def test_a_legitimate_reauthorization_in_the_browser_is_verified(tab, stack, aws):
    # Given seller V's grant
    seller = typed_id()
    _, first = authorize(tab, stack, seller=seller)
    expect_success_page(tab.page, first, seller, "seller", "NA")
    versions = len(grant_record(aws, seller)[1])

    # When V authorizes again with the same account
    _, second = authorize(tab, stack, seller=seller)

    # Then it succeeds, as a new version, announced as verified
    expect_success_page(tab.page, second, seller, "seller", "NA")
    assert len(grant_record(aws, seller)[1]) == versions + 1
    events = aws.events.wait_for(seller, count=2)
    assert events[-1].detail_type == names.EVENT_SELLER_REAUTHORIZED
    assert (events[-1].detail["identity_verified"], events[-1].detail["identity_check"]) == (True, "live_views_match")
    assert json.loads(grant_record(aws, seller)[0])["identity_fingerprint"].startswith("sha256:")
