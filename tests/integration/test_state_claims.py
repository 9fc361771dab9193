"""The state's claims are input: a state signed with the real key but carrying claims /authorize and /login
never issue is refused at /callback before anything is exchanged or written."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest

from sellertoken import appcreds, names, state
from tests.integration.conftest import REDIRECT_URI, new_seller


def resigned(original: str, **changes) -> str:
    """`original` with its claims changed and signed again with the deployment's own key."""
    body, _ = original.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    new_body = state._b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    key = appcreds.state_key(names.DEFAULT_PREFIX)
    return f"{new_body}.{state._b64(state._sign(key, new_body))}"


@pytest.mark.parametrize(
    "claims",
    [
        {"r": "xx"},
        {"r": "NA"},
        {"t": "admin"},
        {"t": ""},
        {"ref": "user 42<script>"},
        {"ref": "x" * 129},
        {"ref": 42},
        {"exp": int(time.time()) + 365 * 86400},
        {"id": "short"},
        {"id": "../../state#other-seller-xxxx"},
    ],
    ids=[
        "unknown-region",
        "region-not-as-issued",
        "unknown-account-type",
        "empty-account-type",
        "reference-with-bad-characters",
        "reference-too-long",
        "reference-not-a-string",
        "expiry-a-year-ahead",
        "id-too-short",
        "id-with-separators",
    ],
)
def test_a_signed_state_with_claims_never_issued_is_refused_before_anything_is_written(browser, aws, claims):
    # Given a consent whose state was re-signed with the real key after its claims were changed
    consent = browser.start("/authorize?region=na")
    forged = resigned(consent["state"], **claims)
    seller = new_seller()
    code = aws.amazon.issue_code(seller, REDIRECT_URI)
    aws.amazon.reset_calls()
    items = aws.table_items()

    # When Amazon's redirect brings it back
    result = browser.get(
        "/callback?" + urlencode({"state": forged, "selling_partner_id": seller, "spapi_oauth_code": code})
    )

    # Then it is refused as an invalid link, the code is not exchanged, nothing is stored or announced
    assert result["statusCode"] == 400
    assert "This authorization link is no longer valid" in result["body"]
    assert 'href="authorize?region=na' in result["body"]  # never a claim we did not issue
    assert aws.amazon.calls()["token.authorization_code"] == 0
    assert aws.grant_names() == [] and aws.table_items() == items and aws.events() == []


def test_the_same_state_resigned_unchanged_is_accepted(browser, aws):
    # The forging helper itself does not break a state: only the changed claims are refused.
    consent = browser.start("/authorize?region=eu&reference=user-7")
    seller = new_seller()
    code = aws.amazon.issue_code(seller, REDIRECT_URI)

    result = browser.get(
        "/callback?"
        + urlencode({"state": resigned(consent["state"]), "selling_partner_id": seller, "spapi_oauth_code": code})
    )

    assert result["statusCode"] == 200
    assert aws.grant_names() == [names.grant_secret_name("eu", seller)]
