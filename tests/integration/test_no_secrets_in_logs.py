"""A whole consent flow, failures included, writes neither code, token, secret nor state to any log."""

from __future__ import annotations

import io
import logging
from urllib.parse import urlencode

from sellertoken import appcreds, names, state
from tests.integration.conftest import APP, REDIRECT_URI, new_seller


def test_logs_of_a_whole_flow_hold_no_code_token_or_secret(browser, aws, caplog):
    captured = io.StringIO()
    ours = logging.getLogger(names.SERVICE_NAME)  # the Powertools logger, which does not propagate
    handler = logging.StreamHandler(captured)
    ours.addHandler(handler)
    previous = ours.level
    ours.setLevel(logging.DEBUG)
    caplog.set_level(logging.INFO)  # everything else (botocore, urllib3, …) at production's level
    seen: list[str] = []
    try:
        seller = new_seller()
        consent = browser.start()
        seen += [consent["state"], browser.cookies[state.COOKIE_NAME]]
        code = aws.amazon.issue_code(seller, REDIRECT_URI)
        seen.append(code)
        ok = browser.get(
            "/callback?"
            + urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code})
        )
        assert ok["statusCode"] == 200
        # failures log too: a replay, an expired code, LWA down
        browser.get(
            "/callback?"
            + urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code})
        )
        second = browser.start()
        bad_code = aws.amazon.issue_code(seller, REDIRECT_URI)
        aws.amazon.issue_code(seller, REDIRECT_URI)
        seen.append(bad_code)
        aws.amazon.set_fault("token", status=500)
        browser.get(
            "/callback?"
            + urlencode({"state": second["state"], "selling_partner_id": seller, "spapi_oauth_code": bad_code})
        )
        aws.amazon.set_fault("token")
    finally:
        ours.removeHandler(handler)
        ours.setLevel(previous)

    logs = captured.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert "grant stored" in logs and "consent failed" in logs  # the capture did see our logger
    secrets_seen = [*seen, *aws.amazon.refresh_tokens(seller), APP["client_secret"]]
    secrets_seen.append(appcreds.state_key(names.DEFAULT_PREFIX).decode())
    for secret in secrets_seen:
        assert secret not in logs
    assert "Atzr|" not in logs and "Atza|" not in logs
