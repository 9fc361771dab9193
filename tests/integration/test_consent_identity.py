"""A consent never lands on another account's grant: the identity policy at /callback (docs/identity.md).

The attack: seller A authorizes their own account and, before the browser follows Amazon's redirect,
changes `selling_partner_id` to seller V's id. Each test below is one row of the policy.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from sellertoken import grantcheck, names
from tests.integration.conftest import REDIRECT_URI, Browser, new_seller

TOKEN_MARKERS = ("Atzr|", "Atza|", "Atz.sprdt|")


def consent(browser: Browser, aws, *, account: str, claimed: str, query: str = "region=na") -> dict:
    """A consent confirmed by `account` at Amazon whose redirect reached /callback saying `claimed`."""
    started = browser.start(f"/authorize?{query}")
    code = aws.amazon.issue_code(account, REDIRECT_URI)
    target = urlencode({"state": started["state"], "selling_partner_id": claimed, "spapi_oauth_code": code})
    return browser.get(f"/callback?{target}")


def grant_record(aws, seller: str, region: str = "na") -> tuple:
    """Everything stored for a grant: its value, every version with its stages, its tags."""
    sm = aws.clients["secretsmanager"]
    name = names.grant_secret_name(region, seller)
    versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return (
        sm.get_secret_value(SecretId=name)["SecretString"],
        sorted((v["VersionId"], tuple(sorted(v.get("VersionStages", [])))) for v in versions),
        {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name).get("Tags", [])},
    )


def store_behind(aws, access_token: str) -> str:
    """Which account an access token opens: the store name SP-API shows for it."""
    answer = requests.get(
        f"{aws.amazon.base_url}/sellers/v1/marketplaceParticipations",
        headers={"x-amz-access-token": access_token},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["payload"][0]["storeName"]


def store_of(aws, seller: str) -> str:
    return aws.amazon.account(seller)["store_name"]


def table_keys(aws) -> set[str]:
    return {item[names.TABLE_PARTITION_KEY]["S"] for item in aws.table_items()}


def assert_no_token(event: dict) -> None:
    text = json.dumps(event)
    assert not any(marker in text for marker in TOKEN_MARKERS), text


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """The metrics the consent flow counts (Powertools still gets each one)."""
    from sellertoken import consent

    seen: list[str] = []
    real = consent.count

    def spy(metric: str, value: int = 1) -> None:
        seen.append(metric)
        real(metric, value)

    monkeypatch.setattr(consent, "count", spy)
    return seen


def test_a_consent_edited_to_another_sellers_id_is_refused_and_leaves_the_victims_grant_untouched(
    browser, aws, authorize, vend, counted
):
    # Given seller V's working grant, and the token the broker vends for it
    victim = authorize()
    before = grant_record(aws, victim)
    vended = vend({"selling_partner_id": victim, "region": "na"})["access_token"]
    assert store_behind(aws, vended) == store_of(aws, victim)
    keys = table_keys(aws)
    aws.events()

    # When seller A confirms their own account and edits the redirect to say V
    attacker = new_seller()
    result = consent(browser, aws, account=attacker, claimed=victim)

    # Then the browser gets the refusal page with status 400
    assert result["statusCode"] == 400
    assert "This authorization was refused" in result["body"] and "nothing was changed" in result["body"]
    # and V's secret value, versions, stages and tags are exactly as they were
    assert grant_record(aws, victim) == before
    # and no grant was created for A, and the table only gained the consumed state
    assert aws.grant_names() == [names.grant_secret_name("na", victim)]
    assert {k.split("#")[0] for k in table_keys(aws) - keys} == {"state"}
    # and the bus heard one security event, naming V and the reason, with no token in it
    events = aws.events()
    assert [e["detail-type"] for e in events] == [names.EVENT_CONSENT_REFUSED]
    detail = events[0]["detail"]
    assert (detail["selling_partner_id"], detail["region"], detail["reason"]) == (
        victim,
        "na",
        grantcheck.REFUSED_VIEWS_DIFFER,
    )
    assert_no_token(events[0])
    # and the alarmed metric counted it
    assert counted.count(names.METRIC_CONSENT_REFUSED) == 1
    # and the broker vends V the same token as before, which opens V's account and not A's
    again = vend({"selling_partner_id": victim, "region": "na"})["access_token"]
    assert again == vended
    assert store_behind(aws, again) == store_of(aws, victim) != store_of(aws, attacker)


def test_a_legitimate_reauthorization_of_the_same_account_is_verified_and_stored_as_a_new_version(
    browser, aws, authorize
):
    # Given seller V's grant
    seller = authorize()
    first_value, first_versions, _ = grant_record(aws, seller)

    # When V authorizes again with the same account
    result = consent(browser, aws, account=seller, claimed=seller)

    # Then it is stored as a new version, the previous one kept, and announced as verified
    assert result["statusCode"] == 200
    value, versions, _ = grant_record(aws, seller)
    assert json.loads(value)["refresh_token"] == aws.amazon.refresh_tokens(seller)[-1]
    assert len(versions) == len(first_versions) + 1
    previous = aws.clients["secretsmanager"].get_secret_value(
        SecretId=names.grant_secret_name("na", seller), VersionStage="AWSPREVIOUS"
    )
    assert previous["SecretString"] == first_value
    (event,) = aws.events()
    assert event["detail-type"] == names.EVENT_SELLER_REAUTHORIZED
    assert event["detail"]["identity_verified"] is True
    assert event["detail"]["identity_check"] == grantcheck.LIVE_VIEWS_MATCH
    assert event["detail"]["previous_version_id"] == previous["VersionId"]


def test_a_seller_whose_previous_token_was_revoked_is_verified_by_the_stored_fingerprint(browser, aws, authorize):
    # Given V's grant, whose refresh token Amazon no longer accepts (V removed the app)
    seller = authorize()
    aws.amazon.revoke(seller)

    # When V authorizes again with the same account
    result = consent(browser, aws, account=seller, claimed=seller)

    # Then the new account matches the fingerprint stored with the grant: verified
    assert result["statusCode"] == 200
    (event,) = aws.events()
    assert (event["detail"]["identity_verified"], event["detail"]["identity_check"]) == (
        True,
        grantcheck.STORED_FINGERPRINT_MATCH,
    )


def test_another_account_on_a_revoked_grant_is_accepted_unverified_with_the_previous_token_restorable(
    browser, aws, authorize
):
    # Given V's grant whose token is dead, and no reference to tell V's users from A's
    victim = authorize()
    aws.amazon.revoke(victim)
    old_value, _, _ = grant_record(aws, victim)

    # When A's consent arrives saying V
    result = consent(browser, aws, account=new_seller(), claimed=victim)

    # Then nothing live is at stake: it is stored, announced as unverified, the old value kept restorable
    assert result["statusCode"] == 200
    (event,) = aws.events()
    assert (event["detail"]["identity_verified"], event["detail"]["identity_check"]) == (
        False,
        grantcheck.UNVERIFIED_PREVIOUS_TOKEN_DEAD,
    )
    previous = aws.clients["secretsmanager"].get_secret_value(
        SecretId=names.grant_secret_name("na", victim), VersionStage="AWSPREVIOUS"
    )
    assert previous["SecretString"] == old_value


def test_without_the_sellers_role_an_unbound_reauthorization_is_accepted_unverified(browser, aws, authorize, counted):
    # Given an app without a role the Sellers API accepts, and V's grant carrying no reference
    aws.amazon.set_sellers_role(False)
    victim = authorize()
    old_value, _, _ = grant_record(aws, victim)

    # When another account's consent says V
    result = consent(browser, aws, account=new_seller(), claimed=victim)

    # Then Amazon offers no proof: the token is replaced, the event says so, the old version is restorable
    assert result["statusCode"] == 200
    (event,) = aws.events()
    assert event["detail-type"] == names.EVENT_SELLER_REAUTHORIZED
    assert (event["detail"]["identity_verified"], event["detail"]["identity_check"]) == (
        False,
        grantcheck.UNVERIFIED_NO_ROLE,
    )
    assert "identity_fingerprint" not in json.loads(grant_record(aws, victim)[0])
    assert counted.count(names.METRIC_IDENTITY_UNVERIFIED) == 1
    previous = aws.clients["secretsmanager"].get_secret_value(
        SecretId=names.grant_secret_name("na", victim), VersionStage="AWSPREVIOUS"
    )
    assert previous["SecretString"] == old_value


def test_without_proof_a_consent_carrying_another_reference_is_refused(browser, aws, authorize):
    # Given an app without the role, and V's grant bound to the company's user "user-v"
    aws.amazon.set_sellers_role(False)
    victim = authorize("region=na&reference=user-v")
    before = grant_record(aws, victim)

    # When a consent started by the company's user "user-a" comes back saying V
    result = consent(browser, aws, account=new_seller(), claimed=victim, query="region=na&reference=user-a")

    # Then the company's own binding refuses it: 400, nothing written, a security event naming both references
    assert result["statusCode"] == 400
    assert grant_record(aws, victim) == before
    (event,) = aws.events()
    assert event["detail-type"] == names.EVENT_CONSENT_REFUSED
    assert event["detail"]["reason"] == grantcheck.REFUSED_REFERENCE
    assert (event["detail"]["reference"], event["detail"]["grant_reference"]) == ("user-a", "user-v")


def test_a_reauthorization_without_a_reference_keeps_the_grants_reference(browser, aws, authorize):
    # Given V's grant bound to "user-v"
    seller = authorize("region=na&reference=user-v")

    # When V re-authorizes through a flow that carries no reference (Amazon's own, via /login)
    assert consent(browser, aws, account=seller, claimed=seller)["statusCode"] == 200

    # Then the binding stays
    assert json.loads(grant_record(aws, seller)[0])["reference"] == "user-v"


def test_a_vendor_reauthorization_is_accepted_unverified_because_amazon_offers_vendors_no_proof(
    browser, aws, authorize
):
    # Given a vendor grant
    vendor = authorize("region=na&account_type=vendor")
    calls = aws.amazon.calls()["sellers.marketplaceParticipations"]

    # When a vendor consent comes back saying that vendor
    result = consent(browser, aws, account=new_seller(), claimed=vendor, query="region=na&account_type=vendor")

    # Then it is accepted, unverified, without asking the Sellers API (vendors have none)
    assert result["statusCode"] == 200
    (event,) = aws.events()
    assert (event["detail"]["identity_verified"], event["detail"]["identity_check"]) == (
        False,
        grantcheck.UNVERIFIED_VENDOR,
    )
    assert aws.amazon.calls()["sellers.marketplaceParticipations"] == calls


def test_a_consent_of_another_account_type_is_refused(browser, aws, authorize):
    # Given V's seller grant
    victim = authorize()
    before = grant_record(aws, victim)

    # When a vendor consent (no proof possible) comes back saying V
    result = consent(browser, aws, account=new_seller(), claimed=victim, query="region=na&account_type=vendor")

    # Then switching the account type is no way around the check
    assert result["statusCode"] == 400
    assert grant_record(aws, victim) == before
    assert [e["detail"]["reason"] for e in aws.events()] == [grantcheck.REFUSED_ACCOUNT_TYPE]


def test_a_token_that_cannot_show_its_account_does_not_replace_one_that_can(browser, aws, authorize):
    # Given V's grant, and an account whose token the Sellers API refuses (e.g. consented in another region)
    victim = authorize()
    before = grant_record(aws, victim)
    hidden = new_seller()
    aws.amazon.set_account(hidden, account_type="vendor")

    # When that account's consent says V
    result = consent(browser, aws, account=hidden, claimed=victim)

    # Then V's token shows its account and the new one cannot: refused
    assert result["statusCode"] == 400
    assert grant_record(aws, victim) == before
    assert [e["detail"]["reason"] for e in aws.events()] == [grantcheck.REFUSED_NEW_TOKEN_UNSEEN]


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 429}, {"hang": True}], ids=["5xx", "429", "hang"])
def test_with_the_sellers_api_unavailable_a_reauthorization_is_refused_for_now_and_writes_nothing(
    browser, aws, authorize, monkeypatch, fault
):
    # Given V's grant, and the Sellers API failing (a hang is cut by a short deadline)
    monkeypatch.setattr(grantcheck, "DEADLINE_SECONDS", 0.5)
    victim = authorize()
    before = grant_record(aws, victim)
    aws.amazon.set_fault("sellers", **fault)
    try:
        # When another account's consent says V
        result = consent(browser, aws, account=new_seller(), claimed=victim)
    finally:
        aws.amazon.set_fault("sellers")

    # Then the seller is asked to try again later, and nothing is written or announced
    assert result["statusCode"] == 502
    assert "try the authorization again" in result["body"]
    assert grant_record(aws, victim) == before
    assert aws.events() == []


def test_a_brand_new_grant_is_stored_even_when_the_sellers_api_is_down(browser, aws):
    # Given no grant for the seller, and the Sellers API failing
    seller = new_seller()
    aws.amazon.set_fault("sellers", status=500)
    try:
        result = consent(browser, aws, account=seller, claimed=seller)
    finally:
        aws.amazon.set_fault("sellers")

    # Then there is nothing to protect: it is stored, without a fingerprint
    assert result["statusCode"] == 200
    assert "identity_fingerprint" not in json.loads(grant_record(aws, seller)[0])


def test_a_new_grant_costs_one_sellers_call_and_a_reauthorization_one_refresh_and_two(browser, aws, authorize):
    aws.amazon.reset_calls()
    seller = authorize()
    new_grant = aws.amazon.calls()
    aws.amazon.reset_calls()

    assert consent(browser, aws, account=seller, claimed=seller)["statusCode"] == 200

    again = aws.amazon.calls()
    assert (new_grant["token.authorization_code"], new_grant["token.refresh_token"]) == (1, 0)
    assert new_grant["sellers.marketplaceParticipations"] == 1
    assert (again["token.authorization_code"], again["token.refresh_token"]) == (1, 1)
    assert again["sellers.marketplaceParticipations"] == 2


def test_a_vendor_reauthorizing_through_the_login_uri_is_compared_as_a_vendor(browser, aws, authorize, monkeypatch):
    from sellertoken import config

    # Given a vendor grant, and Amazon's real consent hosts (Vendor Central serves vendors only)
    vendor = authorize("region=na&account_type=vendor")
    monkeypatch.delenv(names.ENV_CONSENT_BASE_URL)
    monkeypatch.delenv(names.ENV_VENDOR_CONSENT_BASE_URL)
    config.get_config.cache_clear()

    # When the vendor re-authorizes through the Login URI on Vendor Central, then confirms
    callback_uri = "https://vendorcentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.test-app"
    hop = browser.get("/login?" + urlencode({"amazon_callback_uri": callback_uri, "amazon_state": "amz-1"}))
    issued = dict(parse_qsl(urlsplit(hop["headers"]["Location"]).query))["state"]
    code = aws.amazon.issue_code(vendor, REDIRECT_URI)
    result = browser.get(
        "/callback?" + urlencode({"state": issued, "selling_partner_id": vendor, "spapi_oauth_code": code})
    )

    # Then the consent is a vendor's, compared with the vendor grant, not refused as another account type
    assert result["statusCode"] == 200, result["body"]
    (event,) = aws.events()
    assert (event["detail"]["account_type"], event["detail"]["identity_check"]) == ("vendor", "vendor")
