"""Vendor grants (`amzn1.vg.…`) in-process: consent, vend and sweep treat them like sellers' grants, and a
secret under the grants prefix whose name holds no selling partner id is never taken for a grant."""

from __future__ import annotations

from urllib.parse import urlencode

from sellertoken import names
from sellertoken.config import get_config
from sellertoken.sweep import Sweep
from tests.integration.conftest import REDIRECT_URI
from tests.integration.test_sweep import run_to_end

VENDOR = "amzn1.vg.2072811"


def test_a_vendor_consent_stores_a_vendor_grant_the_vend_function_serves(browser, aws, vend):
    consent = browser.start("/authorize?region=eu&account_type=vendor")
    code = aws.amazon.issue_code(VENDOR, REDIRECT_URI)

    done = browser.get(
        "/callback?" + urlencode({"state": consent["state"], "selling_partner_id": VENDOR, "spapi_oauth_code": code})
    )

    assert done["statusCode"] == 200, done["body"]
    value, tags = aws.grant("eu", VENDOR)
    assert (value["account_type"], tags[names.TAG_ACCOUNT_TYPE], tags[names.TAG_SELLER]) == ("vendor",) * 2 + (VENDOR,)
    assert vend({"selling_partner_id": VENDOR, "region": "eu"})["selling_partner_id"] == VENDOR


def test_the_sweep_skips_a_secret_under_the_grants_prefix_that_names_no_selling_partner(authorize, aws):
    # Given one real grant and a secret someone created by hand under the grants prefix
    seller = authorize()
    aws.clients["secretsmanager"].create_secret(
        Name=names.grants_prefix() + "na/not-a-partner", SecretString='{"refresh_token": "Atzr|x"}'
    )
    aws.amazon.reset_calls()

    # When the sweep runs
    result = run_to_end(Sweep(get_config()))

    # Then it checked the grant only: the stray secret was neither refreshed nor counted
    assert result.outcome == "completed"
    assert sum(result.cursor.counts.values()) == 1 and result.cursor.counts["healthy"] == 1
    assert aws.amazon.calls()["token.refresh_token"] == 1
    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_ACTIVE
