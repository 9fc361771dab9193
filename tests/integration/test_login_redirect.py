"""/login sends the browser back to Amazon's `amazon_callback_uri`: only ever to an Amazon consent host,
and only with an address a browser reads the same way the broker checked it.

A path byte that RFC 3986 does not allow (controls, space, DEL, backslash…) is refused; the whole table
of such bytes is in tests/unit/test_login_callback_uri.py.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from sellertoken import names

AMAZON_CALLBACK = "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.test-app"
AMAZON_HOSTS = ("sellercentral.amazon.com", "vendorcentral.amazon.com")


@pytest.fixture
def amazon_hosts(aws, monkeypatch):
    """Amazon's real consent hosts (the simulator still answers LWA)."""
    from sellertoken import config

    monkeypatch.delenv(names.ENV_CONSENT_BASE_URL)
    monkeypatch.delenv(names.ENV_VENDOR_CONSENT_BASE_URL)
    config.get_config.cache_clear()
    return aws


def login(browser, callback: str) -> dict:
    return browser.get("/login?" + urlencode({"amazon_callback_uri": callback, "amazon_state": "amz-1"}))


@pytest.mark.parametrize("raw", ["\x00", "\x7f", " ", "\\"], ids=["NUL", "DEL", "space", "backslash"])
def test_a_callback_path_with_a_raw_byte_gets_a_400_page_and_no_location(browser, amazon_hosts, raw):
    before = amazon_hosts.snapshot()

    result = login(browser, f"{AMAZON_CALLBACK}{raw}x")

    assert result["statusCode"] == 400
    assert "Location" not in result["headers"] and result["headers"]["Content-Type"].startswith("text/html")
    assert "not a valid Amazon consent address" in result["body"]
    assert amazon_hosts.snapshot() == before and amazon_hosts.events() == []


LOOKS_LIKE_ELSEWHERE = {
    "double slash": "https://sellercentral.amazon.com//evil.example/x",
    "encoded slashes": "https://sellercentral.amazon.com/%2F%2Fevil.example/x",
    "dot segments": "https://sellercentral.amazon.com/../../evil.example",
    "at sign in the path": "https://sellercentral.amazon.com/@evil.example",
    "upper-case host": "https://SELLERCENTRAL.AMAZON.COM/apps/authorize/confirm/x",
    "tab in the host": "https://sellercentral.amazon.com\t.evil.example/x",
}


@pytest.mark.parametrize("callback", LOOKS_LIKE_ELSEWHERE.values(), ids=LOOKS_LIKE_ELSEWHERE.keys())
def test_whatever_login_answers_it_never_sends_the_browser_off_amazon(browser, amazon_hosts, callback):
    result = login(browser, callback)

    if result["statusCode"] == 302:
        location = result["headers"]["Location"]
        assert location.isascii() and location.isprintable() and " " not in location and "\\" not in location
        parts = urlsplit(location)
        assert parts.scheme == "https" and parts.hostname in AMAZON_HOSTS and not parts.username
    else:
        assert result["statusCode"] == 400 and "Location" not in result["headers"]


def test_the_documented_callback_uri_keeps_its_path_and_query(browser, amazon_hosts):
    result = login(browser, AMAZON_CALLBACK + "/part-2_~.:@!$&'()*+,;=%41?marketplace=ATVPDKIKX0DER")

    assert result["statusCode"] == 302
    location = urlsplit(result["headers"]["Location"])
    assert location.path == "/apps/authorize/confirm/amzn1.sp.solution.test-app/part-2_~.:@!$&'()*+,;=%41"
    assert "marketplace=ATVPDKIKX0DER" in location.query and "amazon_state=amz-1" in location.query
