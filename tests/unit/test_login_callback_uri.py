"""/login refuses an `amazon_callback_uri` whose path holds a byte RFC 3986 does not allow in a path.

Amazon's callback URI is a plain path (`/apps/authorize/confirm/<appId>`); such a byte means the value
was altered on its way. The refusal comes before any state is issued, so no AWS is needed here; the
same attack through the handler, and what an accepted address becomes, are in
tests/integration/test_login_redirect.py.
"""

from __future__ import annotations

import pytest

from sellertoken import consent
from sellertoken.config import Config

AMAZON_CALLBACK = "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.test-app"
CONFIG = Config(
    prefix="sellertoken",
    table_name="t",
    kms_key_id="k",
    event_bus_name="b",
    lwa_endpoint="https://api.amazon.com/auth/o2/token",
    app_is_draft=False,
    redirect_uri="https://broker.example.test/callback",
    success_url=None,
    consent_base_url=None,
    spapi_base_url=None,
)
RAW_BYTES = {
    "NUL": "\x00",
    "a C0 control": "\x07",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "space": " ",
    "double quote": '"',
    "angle bracket": "<",
    "backslash": "\\",
    "caret": "^",
    "backtick": "`",
    "brace": "{",
    "pipe": "|",
    "a stray percent": "%zz",
    "a short percent escape": "%4",
}


@pytest.mark.parametrize("raw", RAW_BYTES.values(), ids=RAW_BYTES.keys())
def test_a_callback_path_with_a_byte_not_allowed_in_a_url_path_is_refused(raw):
    with pytest.raises(consent.ConsentError) as refused:
        consent.login(CONFIG, {"amazon_callback_uri": f"{AMAZON_CALLBACK}{raw}x", "amazon_state": "amz-1"})

    assert refused.value.status == 400 and refused.value.reason == "bad_amazon_callback_uri"


@pytest.mark.parametrize("path", ["", "/", "/apps/authorize/confirm/x", "/a-b_c~d.e:f@g!$&'()*+,;=/%41%2f"])
def test_every_character_rfc_3986_allows_in_a_path_passes_the_check(path):
    assert consent.URL_PATH.fullmatch(path)
