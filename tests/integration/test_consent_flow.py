"""The consent flow through the oauth handler, on moto and the Amazon simulator."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sellertoken import identity, names
from tests.integration.conftest import APP, REDIRECT_URI, Browser, location, new_seller

SECURITY_HEADERS = ("Cache-Control", "Referrer-Policy", "Content-Security-Policy")


def complete(browser: Browser, amazon, consent: dict[str, str], seller: str) -> dict:
    code = amazon.issue_code(seller, REDIRECT_URI)
    query = urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code})
    return browser.get(f"/callback?{query}")


def test_authorize_redirects_to_the_regions_consent_page_with_a_bound_state(browser, aws):
    result = browser.get("/authorize?region=na")

    assert result["statusCode"] == 302
    parts = urlsplit(location(result))
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == aws.amazon.base_url
    assert parts.path == "/apps/authorize/consent"
    assert query["application_id"] == ["amzn1.sp.solution.test-app"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["version"] == ["beta"]
    cookie = next(c for c in result["cookies"] if c.startswith("__Host-sellertoken-state="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert cookie.split("=", 1)[1].split(";")[0] not in location(result)


def test_a_confirmed_consent_stores_an_active_grant_and_announces_it(browser, aws):
    seller = new_seller()
    consent = browser.start("/authorize?region=na&reference=customer-42")

    result = complete(browser, aws.amazon, consent, seller)

    assert result["statusCode"] == 200
    assert "Authorized" in result["body"] and seller in result["body"]
    value, tags = aws.grant("na", seller)
    assert value["refresh_token"] == aws.amazon.refresh_tokens(seller)[-1]
    assert value["schema_version"] == names.GRANT_SCHEMA_VERSION
    account = aws.amazon.account(seller)
    fingerprint = identity.View(tuple(account["marketplaces"]), (account["store_name"],)).fingerprint()
    assert value | {"refresh_token": "…"} == {
        "schema_version": 1,
        "refresh_token": "…",
        "selling_partner_id": seller,
        "region": "na",
        "account_type": "seller",
        "client_id": APP["client_id"],
        "authorized_at": value["authorized_at"],
        "reauthorize_by": value["reauthorize_by"],
        "reference": "customer-42",
        "identity_fingerprint": fingerprint,
    }
    assert account["store_name"] not in str(value)  # only its fingerprint is kept
    assert tags[names.TAG_STATUS] == names.STATUS_ACTIVE
    assert tags[names.TAG_SELLER] == seller and tags[names.TAG_REGION] == "na"
    events = aws.events()
    assert [e["detail-type"] for e in events] == [names.EVENT_SELLER_AUTHORIZED]
    assert events[0]["detail"]["selling_partner_id"] == seller
    assert events[0]["detail"]["reference"] == "customer-42"
    assert events[0]["detail"]["identity_verified"] is False
    assert events[0]["detail"]["identity_check"] == "new_grant"
    assert "Atzr|" not in str(events) and "Atza|" not in str(events)
    assert "__Host-sellertoken-state" not in browser.cookies  # cleared after use


def test_the_grant_secret_is_encrypted_with_the_configured_key(browser, aws):
    seller = new_seller()
    complete(browser, aws.amazon, browser.start(), seller)

    described = aws.clients["secretsmanager"].describe_secret(SecretId=names.grant_secret_name("na", seller))

    assert described["KmsKeyId"] == aws.seeded.kms_key_arn


@pytest.mark.parametrize(
    ("target", "region", "account_type"),
    [
        ("/authorize?region=eu", "eu", "seller"),
        ("/authorize?marketplace=JP", "fe", "seller"),
        ("/authorize?marketplace=de&account_type=vendor", "eu", "vendor"),
        ("/authorize?region=na&account_type=vendor", "na", "vendor"),
    ],
)
def test_region_and_account_type_travel_with_the_state(browser, aws, target, region, account_type):
    seller = new_seller()

    complete(browser, aws.amazon, browser.start(target), seller)

    value, tags = aws.grant(region, seller)
    assert (value["region"], value["account_type"]) == (region, account_type)
    assert tags[names.TAG_ACCOUNT_TYPE] == account_type


def test_reauthorization_writes_a_new_version_of_the_same_secret(browser, aws):
    seller = new_seller()
    complete(browser, aws.amazon, browser.start(), seller)
    aws.events()

    complete(browser, aws.amazon, browser.start(), seller)

    sm = aws.clients["secretsmanager"]
    name = names.grant_secret_name("na", seller)
    assert aws.grant_names() == [name]
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 2
    assert aws.grant("na", seller)[0]["refresh_token"] == aws.amazon.refresh_tokens(seller)[-1]
    events = aws.events()
    assert [e["detail-type"] for e in events] == [names.EVENT_SELLER_REAUTHORIZED]
    assert events[0]["detail"]["previous_status"] == names.STATUS_ACTIVE


def test_reauthorizing_a_revoked_grant_reactivates_it_and_clears_the_revocation(browser, aws):
    from sellertoken import grants

    seller = new_seller()
    complete(browser, aws.amazon, browser.start(), seller)
    grants.mark_revoked(names.DEFAULT_PREFIX, "na", seller, "invalid_grant")
    aws.events()

    complete(browser, aws.amazon, browser.start(), seller)

    _, tags = aws.grant("na", seller)
    assert tags[names.TAG_STATUS] == names.STATUS_ACTIVE
    assert names.TAG_REVOKED_AT not in tags and names.TAG_REVOKED_REASON not in tags
    assert aws.events()[0]["detail"]["previous_status"] == names.STATUS_REVOKED


def test_two_concurrent_callbacks_for_one_seller_leave_one_secret_with_one_of_the_tokens(oauth, aws):
    seller = new_seller()
    browsers = [Browser(oauth), Browser(oauth)]
    consents = [b.start() for b in browsers]
    codes = [aws.amazon.issue_code(seller, REDIRECT_URI) for _ in browsers]
    results: list[dict] = [{}, {}]
    barrier = threading.Barrier(2)

    def callback(i: int) -> None:
        barrier.wait()
        query = urlencode({"state": consents[i]["state"], "selling_partner_id": seller, "spapi_oauth_code": codes[i]})
        results[i] = browsers[i].get(f"/callback?{query}")

    threads = [threading.Thread(target=callback, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r["statusCode"] for r in results] == [200, 200]
    assert aws.grant_names() == [names.grant_secret_name("na", seller)]
    value, tags = aws.grant("na", seller)
    assert value["refresh_token"] in aws.amazon.refresh_tokens(seller)
    assert value["selling_partner_id"] == seller and tags[names.TAG_STATUS] == names.STATUS_ACTIVE


def test_success_redirects_to_the_configured_url_with_seller_and_region(browser, aws, monkeypatch):
    from sellertoken import config

    monkeypatch.setenv(names.ENV_SUCCESS_URL, "https://app.example.test/connected?tab=amazon")
    config.get_config.cache_clear()
    seller = new_seller()

    result = complete(browser, aws.amazon, browser.start("/authorize?region=fe"), seller)

    assert result["statusCode"] == 302
    parts = urlsplit(location(result))
    assert (parts.netloc, parts.path) == ("app.example.test", "/connected")
    assert parse_qs(parts.query) == {"tab": ["amazon"], "selling_partner_id": [seller], "region": ["fe"]}


def test_an_expired_or_used_code_asks_to_start_again_and_stores_nothing(browser, aws):
    seller = new_seller()
    consent = browser.start("/authorize?region=eu&account_type=vendor")
    query = urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": "ANexpiredcode123"})

    result = browser.get(f"/callback?{query}")

    assert result["statusCode"] == 400
    assert "expired" in result["body"] and 'href="authorize?region=eu&amp;account_type=vendor"' in result["body"]
    assert aws.grant_names() == [] and aws.events() == []


def test_lwa_down_is_a_502_page_and_stores_nothing(browser, aws):
    consent = browser.start()
    aws.amazon.set_fault("token", status=503)
    try:
        result = complete(browser, aws.amazon, consent, new_seller())
    finally:
        aws.amazon.set_fault("token")

    assert result["statusCode"] == 502
    assert "not answer" in result["body"]
    assert aws.grant_names() == [] and aws.events() == []


def test_wrong_app_secret_is_a_502_page_and_stores_nothing(browser, aws):
    consent = browser.start()
    aws.amazon.set_client_secret_valid(False)
    try:
        result = complete(browser, aws.amazon, consent, new_seller())
    finally:
        aws.amazon.set_client_secret_valid(True)

    assert result["statusCode"] == 502
    assert aws.grant_names() == []


def test_the_code_exchange_is_not_retried_after_a_hang(browser, aws):
    consent = browser.start()
    aws.amazon.set_fault("token", hang=True)
    aws.amazon.reset_calls()
    try:
        result = complete(browser, aws.amazon, consent, new_seller())
    finally:
        aws.amazon.set_fault("token")

    assert result["statusCode"] == 502
    assert aws.amazon.calls().get("token.authorization_code", 0) <= 1


@pytest.mark.parametrize("path", ["/authorize?region=na", "/authorize?region=xx", "/callback", "/nowhere"])
def test_every_response_carries_the_security_headers(browser, aws, path):
    result = browser.get(path)

    for header in SECURITY_HEADERS:
        assert header in result["headers"], (path, header)
    assert result["headers"]["Cache-Control"] == "no-store"
    assert result["headers"]["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in result["headers"]["Content-Security-Policy"]
