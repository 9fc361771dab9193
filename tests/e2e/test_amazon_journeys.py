"""Journeys through Amazon as it really is, in a real browser against the local stack: a vendor from Vendor
Central to revocation."""

from __future__ import annotations

import json
import re

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from playwright.sync_api import Page, Response, expect

from sellertoken import names
from tests.e2e.test_cli import sellertoken
from tests.e2e.test_consent_browser import assert_no_token_text, read_grant

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

    # When the vendor removes the application at Amazon and the sweep runs
    revoked = requests.post(f"{stack.amazon}/_control/revoke", json={"selling_partner_id": vendor}, timeout=10)
    assert revoked.json() == {"revoked": 1}
    invoke(lambdas, "sweep", {"run_id": "vendor-revoked"})

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
