"""Journeys through Amazon as it really is, in a real browser against the local stack: a vendor from Vendor
Central to revocation; renewals from Manage Your Apps (a seller near the 365-day deadline, a vendor), an
Appstore start, and a website flow sent through the Login URI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from playwright.sync_api import Page, Response, expect

from sellertoken import names
from tests.e2e.flows import authorize_over_http
from tests.e2e.test_cli import sellertoken
from tests.e2e.test_consent_browser import ISO_UTC, assert_no_token_text, parse_utc, read_grant

pytestmark = pytest.mark.e2e

VENDOR_ID = re.compile(r"amzn1\.vg\.[0-9]{7}")


@pytest.fixture(scope="module")
def lambdas(stack):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.endpoints["region"]
    )
    config = BotoConfig(connect_timeout=2, read_timeout=40, retries={"max_attempts": 1})
    return session.client("lambda", endpoint_url=stack.endpoints["lambda"], config=config)


def invoke(lambdas, function: str, payload: dict) -> dict:
    response = lambdas.invoke(FunctionName=names.function_name(function), Payload=json.dumps(payload).encode())
    answer = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        return {"errorType": answer["errorType"]}
    return answer


def press(page: Page, button: str) -> Response:
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    assert navigation.value is not None
    return navigation.value


def grant_tags(aws, region: str, selling_partner_id: str) -> dict[str, str]:
    return read_grant(aws, region, selling_partner_id)[1]


def test_a_vendor_authorizes_at_vendor_central_is_vended_swept_and_revoked(tab, stack, aws, lambdas):
    page = tab.page
    # Given a vendor sent to /authorize?region=na&account_type=vendor: they land on Vendor Central,
    # a host of its own, which signs them in as their vendor group
    response = page.goto(f"{stack.api}/authorize?region=na&account_type=vendor")
    assert response is not None and response.status == 200
    assert page.url.startswith(f"{stack.vendor_central}/apps/authorize/consent?")
    expect(page.locator("header")).to_contain_text("vendor central")
    vendor = page.get_by_label("Selling partner ID").input_value()
    assert VENDOR_ID.fullmatch(vendor)
    aws.events.drain()

    # When they confirm
    done = press(page, "Confirm")

    # Then the grant is stored under the vendor's id, as a vendor grant
    assert done.status == 200
    expect(page.locator("body")).to_contain_text(f"The vendor {vendor} has authorized the application in region NA.")
    value, tags = read_grant(aws, "na", vendor)
    assert (value["selling_partner_id"], value["account_type"]) == (vendor, "vendor")
    assert tags[names.TAG_SELLER] == vendor and tags[names.TAG_ACCOUNT_TYPE] == "vendor"
    events = aws.events.wait_for(vendor)
    assert [(e.detail_type, e.detail["account_type"], e.detail["identity_check"]) for e in events] == [
        (names.EVENT_SELLER_AUTHORIZED, "vendor", "new_grant")
    ]

    # and the vend function answers with the vendor's token, which SP-API accepts
    vended = invoke(lambdas, "vend", {"selling_partner_id": vendor, "region": "na"})
    assert vended["selling_partner_id"] == vendor and vended["access_token"].startswith("Atza|")
    orders = requests.get(
        f"{stack.amazon}/orders/v0/orders", headers={"x-amz-access-token": vended["access_token"]}, timeout=10
    )
    assert orders.status_code == 200

    # and a sweep finds the vendor's grant healthy
    swept = invoke(lambdas, "sweep", {"run_id": "vendor-healthy"})
    assert swept["outcome"] == "completed"
    assert grant_tags(aws, "na", vendor)[names.TAG_STATUS] == "active"
    assert names.TAG_HEALTH not in grant_tags(aws, "na", vendor)

    # When the vendor removes the application at Amazon and a full sweep runs (the vend above refreshed the
    # grant a moment ago: a scheduled sweep would count that refresh as its check, README "LWA at fleet scale")
    revoked = requests.post(f"{stack.amazon}/_control/revoke", json={"selling_partner_id": vendor}, timeout=10)
    assert revoked.json() == {"revoked": 1}
    invoke(lambdas, "sweep", {"run_id": "vendor-revoked", "full": True})

    # Then the grant is flagged revoked, announced as a vendor's, and no longer vended
    assert grant_tags(aws, "na", vendor)[names.TAG_STATUS] == "revoked"
    gone = [e for e in aws.events.of(vendor) if e.detail_type == names.EVENT_GRANT_REVOKED]
    assert [(e.detail["account_type"], e.detail["reason"]) for e in gone] == [("vendor", "invalid_grant")]
    assert invoke(lambdas, "vend", {"selling_partner_id": vendor, "region": "na"}) == {"errorType": "GrantRevoked"}

    # and the operator CLI shows the vendor's grant by its id, never its token
    shown = sellertoken(
        "grants", "show", vendor, "--region", "na", "--endpoints", str(stack.log_path.parent / "endpoints.json")
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["tags"][names.TAG_ACCOUNT_TYPE] == "vendor"
    assert_no_token_text(shown.stdout, where="grants show")


# --------------------------------------------------------------------------- authorizations Amazon starts


def app_id(aws) -> str:
    return json.loads(aws.secretsmanager.get_secret_value(SecretId="sellertoken/app")["SecretString"])["application_id"]


def through_amazon_and_the_login_uri(tab, stack, base: str) -> Response:
    """Confirm on Amazon's consent page: Amazon loads /login, which sends the browser back to Amazon's
    confirm endpoint, which calls /callback. Returns the last response (the broker's success page)."""
    seen = len(tab.requests)
    done = press(tab.page, "Confirm")
    hops = [url.split("?")[0] for url in tab.requests[seen:]]
    login, confirm, callback = f"{stack.api}/login", f"{base}/apps/authorize/confirm/", f"{stack.api}/callback"
    assert login in hops and callback in hops, hops
    assert hops.index(login) < next(i for i, u in enumerate(hops) if u.startswith(confirm)) < hops.index(callback)
    return done


def backdate(aws, region: str, partner: str, days: int) -> str:
    """Make the grant look authorized `days` ago (a new version of its value, and its tag)."""
    name = f"sellertoken/grants/{region}/{partner}"
    value = json.loads(aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"])
    then = (datetime.now(UTC) - timedelta(days=days)).strftime(ISO_UTC)
    value["authorized_at"] = then
    value["reauthorize_by"] = (parse_utc(then) + timedelta(days=365)).strftime(ISO_UTC)
    aws.secretsmanager.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    aws.secretsmanager.tag_resource(SecretId=name, Tags=[{"Key": names.TAG_AUTHORIZED_AT, "Value": then}])
    return then


def test_a_grant_near_its_deadline_renewed_from_manage_your_apps_starts_a_new_year(tab, stack, aws, lambdas):
    page = tab.page
    # Given a seller whose grant was authorized 360 days ago, and a sweep that reminded them
    seller = authorize_over_http(stack)
    backdate(aws, "na", seller, 360)
    invoke(lambdas, "sweep", {"run_id": f"remind-{seller}"})
    due = [e for e in aws.events.of(seller) if e.detail_type == names.EVENT_REAUTHORIZATION_DUE]
    assert [e.detail["reminder"] for e in due] == [7]
    assert grant_tags(aws, "na", seller)[names.TAG_REAUTH_REMINDED] == "7"
    name = f"sellertoken/grants/na/{seller}"
    before = len(aws.secretsmanager.list_secret_version_ids(SecretId=name)["Versions"])
    known = len(aws.events.of(seller))

    # When they open Manage Your Apps in Seller Central, click Re-authorize and confirm
    page.goto(f"{stack.amazon}/apps/manage?selling_partner_id={seller}")
    expect(page.get_by_role("heading", name="Manage Your Apps")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Re-authorize").click()
    expect(page.locator("body")).to_contain_text(f"Signed in as {seller}")
    done = through_amazon_and_the_login_uri(tab, stack, stack.amazon)

    # Then the renewal lands as a new version of the same secret, a year out, verified as the same account
    assert done.status == 200
    expect(page.locator("body")).to_contain_text(f"The seller {seller} has authorized the application")
    assert len(aws.secretsmanager.list_secret_version_ids(SecretId=name)["Versions"]) == before + 1
    value, tags = read_grant(aws, "na", seller)
    renewed = parse_utc(value["authorized_at"])
    assert abs(datetime.now(UTC) - renewed) < timedelta(minutes=2)
    assert parse_utc(value["reauthorize_by"]) == renewed + timedelta(days=365)
    (event,) = aws.events.wait_for(seller, known + 1)[known:]
    assert event.detail_type == names.EVENT_SELLER_REAUTHORIZED
    assert (event.detail["identity_check"], event.detail["identity_verified"]) == ("live_views_match", True)
    assert event.detail["reauthorize_by"] == value["reauthorize_by"]

    # and the reminders start over: the tag is gone and the next sweep reminds nobody of this grant
    assert names.TAG_REAUTH_REMINDED not in tags
    invoke(lambdas, "sweep", {"run_id": f"renewed-{seller}"})
    assert [e for e in aws.events.of(seller) if e.detail_type == names.EVENT_REAUTHORIZATION_DUE] == due


@pytest.fixture
def published(stack, aws):
    """The application listed in the Appstore (the broker's own settings still say Draft: Amazon ignores
    version=beta for a published app)."""
    requests.post(f"{stack.amazon}/_control/draft", json={"draft": False}, timeout=5).raise_for_status()
    yield app_id(aws)
    requests.post(f"{stack.amazon}/_control/draft", json={"draft": True}, timeout=5).raise_for_status()


def test_an_appstore_authorize_now_is_a_first_authorization_through_the_login_uri(tab, stack, aws, published):
    page = tab.page
    # Given the application's Appstore detail page
    page.goto(f"{stack.amazon}/apps/appstore/{published}")
    with page.expect_navigation():
        page.get_by_role("link", name="Authorize now").click()
    seller = page.get_by_label("Selling partner ID").input_value()

    # When the seller confirms
    done = through_amazon_and_the_login_uri(tab, stack, stack.amazon)

    # Then a new seller grant is stored and announced
    assert done.status == 200
    value, tags = read_grant(aws, "na", seller)
    assert (value["account_type"], tags[names.TAG_STATUS]) == ("seller", "active") and "reference" not in value
    (event,) = aws.events.wait_for(seller)
    assert (event.detail_type, event.detail["identity_check"]) == (names.EVENT_SELLER_AUTHORIZED, "new_grant")


def test_a_vendor_renews_from_manage_your_apps_at_vendor_central(tab, stack, aws):
    page = tab.page
    # Given a vendor grant made at Vendor Central
    page.goto(f"{stack.api}/authorize?region=na&account_type=vendor")
    vendor = page.get_by_label("Selling partner ID").input_value()
    assert press(page, "Confirm").status == 200
    assert len(aws.events.wait_for(vendor)) == 1

    # When the vendor renews from Vendor Central's Manage Your Apps
    page.goto(f"{stack.vendor_central}/apps/manage?selling_partner_id={vendor}")
    with page.expect_navigation():
        page.get_by_role("link", name="Re-authorize").click()
    done = through_amazon_and_the_login_uri(tab, stack, stack.vendor_central)

    # Then the vendor grant gets a new version, announced as a vendor's re-authorization
    assert done.status == 200
    expect(page.locator("body")).to_contain_text(f"The vendor {vendor} has authorized the application")
    name = f"sellertoken/grants/na/{vendor}"
    assert len(aws.secretsmanager.list_secret_version_ids(SecretId=name)["Versions"]) == 2
    (event,) = aws.events.wait_for(vendor, 2)[1:]
    assert event.detail_type == names.EVENT_SELLER_REAUTHORIZED
    assert (event.detail["account_type"], event.detail["identity_check"]) == ("vendor", "vendor")


@pytest.fixture
def website_hop(stack):
    requests.post(f"{stack.amazon}/_control/behaviour", json={"website_login_hop": True}, timeout=5)
    yield
    requests.post(f"{stack.amazon}/_control/behaviour", json={"website_login_hop": False}, timeout=5)


def test_a_website_flow_sent_through_the_login_uri_keeps_the_companys_reference(tab, stack, aws, website_hop):
    page = tab.page
    # Given a seller the company sent to /authorize with its own reference, and an Amazon that sends
    # website flows through the Login URI (reported for Draft apps)
    page.goto(f"{stack.api}/authorize?marketplace=DE&reference=customer-42")
    seller = page.get_by_label("Selling partner ID").input_value()

    # When they confirm
    done = through_amazon_and_the_login_uri(tab, stack, stack.amazon)

    # Then the grant is the flow's: Europe, with the company's reference
    assert done.status == 200
    value, _ = read_grant(aws, "eu", seller)
    assert value["reference"] == "customer-42"


def test_a_grant_lwa_refuses_for_this_application_shows_its_health_in_the_operator_cli(stack):
    # Given a grant whose refresh token LWA refuses for this application (unauthorized_client), the app accepted
    seller = authorize_over_http(stack)
    mismatch = {"selling_partner_id": seller, "mismatch": True}
    requests.post(f"{stack.amazon}/_control/client-mismatch", json=mismatch, timeout=5).raise_for_status()
    where = ("--endpoints", str(stack.log_path.parent / "endpoints.json"))
    try:
        # When the operator sweeps
        swept = sellertoken("sweep", *where)

        # Then the run completes (no app alarm), and the grant's health says what is wrong
        assert swept.returncode == 0, swept.stderr
        assert json.loads(swept.stdout)["outcome"] == "completed"
        rows = {line.split()[0]: line for line in sellertoken("grants", "list", *where).stdout.splitlines()[1:]}
        assert "active (unauthorized)" in rows[seller]
        shown = json.loads(sellertoken("grants", "show", seller, "--region", "na", *where).stdout)
        assert shown["tags"][names.TAG_HEALTH] == "unauthorized"
        assert shown["health"]["last_error"].startswith("unauthorized_client")
    finally:
        requests.post(f"{stack.amazon}/_control/client-mismatch", json={**mismatch, "mismatch": False}, timeout=5)
