"""Answers of Amazon's the broker must classify right (reference §2-§3): the Restricted Data Token's 403
texts, its 400 for data elements the app has no role for, its 429 with Retry-After; and LWA's
unauthorized_client, which can be one grant's rather than the application's."""

from __future__ import annotations

import importlib
import time
from urllib.parse import urlencode

import pytest

from devstack.awscalls import acting_as
from devstack.lambda_context import LocalLambdaContext, invoke
from sellertoken import deadline, names, table
from sellertoken.config import get_config
from sellertoken.errors import AppCredentialsRejected, BrokerFault, InvalidRequest, UpstreamUnavailable
from sellertoken.sweep import Cursor, Sweep
from tests.integration.conftest import REDIRECT_URI

ORDERS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]


@pytest.fixture
def handler(aws, monkeypatch):
    """The vend function in a fresh container, with the metrics it counts."""
    module = importlib.import_module("handlers.vend")
    module.vendor.cache_clear()
    counted: list[str] = []
    monkeypatch.setattr(module, "count", lambda metric, value=1: counted.append(metric))

    def call(payload: dict, timeout: float = 30.0) -> dict:
        return invoke(module.handler, payload, LocalLambdaContext(names.function_name("vend"), timeout))

    yield call, counted
    module.vendor.cache_clear()


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """deadline.clock moved by every wait (deadline.pause) instead of the test sleeping; the waits, recorded."""
    waits: list[float] = []
    skew = [0.0]
    monkeypatch.setattr(deadline, "clock", lambda: time.monotonic() + skew[0])

    def pause(seconds: float) -> None:
        waits.append(seconds)
        skew[0] += max(seconds, 0.0)

    monkeypatch.setattr(deadline, "pause", pause)
    return waits


def rdt(seller: str) -> dict:
    return {"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS}


# ---------------------------------------------------------------- the Restricted Data Token's answers


def test_an_rdt_refused_for_an_expired_lwa_secret_is_the_applications_credentials_and_alarms(handler, authorize, aws):
    # Given an access token cached before the application's client secret expired
    vend, counted = handler
    seller = authorize()
    vend({"selling_partner_id": seller, "region": "na"})
    aws.amazon.set_client_secret_valid(False)
    aws.amazon.reset_calls()

    # When an RDT is asked for (SP-API: 403 "The LWA secret token you provided has expired.")
    with pytest.raises(AppCredentialsRejected, match="LWA client secret has expired"):
        vend(rdt(seller))

    # Then it is the application's credentials (its alarm), not the caller's request, and nobody is flagged
    assert counted == [names.METRIC_APP_CREDENTIALS_REJECTED]
    assert aws.amazon.calls()["tokens.restrictedDataToken"] == 1
    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_ACTIVE and aws.events() == []


def test_an_rdt_refused_for_a_missing_access_token_is_the_brokers_own_fault(handler, authorize, aws):
    vend, counted = handler
    seller = authorize()
    aws.amazon.set_fault("rdt", status=403, error="Access token is missing in the request header.")

    with pytest.raises(BrokerFault, match="the broker sent no access token"):
        vend(rdt(seller))

    assert counted == [names.METRIC_BROKER_FAULT]
    assert aws.amazon.calls()["tokens.restrictedDataToken"] == 1  # no refresh-and-retry: the token was not at fault


def test_an_rdt_refused_without_details_names_a_missing_role_or_another_region(handler, authorize, aws):
    vend, counted = handler
    seller = authorize()
    aws.amazon.reset_calls()
    aws.amazon.set_fault("rdt", status=403)

    with pytest.raises(InvalidRequest, match="no role for these resources, or the grant belongs to another region"):
        vend(rdt(seller))

    assert counted == [] and aws.amazon.calls()["tokens.restrictedDataToken"] == 1


def test_an_rdt_for_data_elements_the_app_has_no_role_for_is_an_invalid_request_carrying_amazons_message(
    handler, authorize, aws
):
    vend, _ = handler
    seller = authorize()
    aws.amazon.set_data_elements(["buyerTaxInformation"])

    with pytest.raises(InvalidRequest) as raised:
        vend(rdt(seller))

    assert str(raised.value).endswith(
        "(400 InvalidInput): Application does not have access to one or more requested data elements: [buyerInfo]"
    )


def test_a_throttled_rdt_waits_the_retry_after_amazon_names_and_then_answers(handler, authorize, aws, clock):
    vend, _ = handler
    seller = authorize()
    aws.amazon.set_fault("rdt", status=429, count=1, retry_after=2)

    answer = vend(rdt(seller), timeout=10)

    assert answer["kind"] == "restricted"
    assert max(clock) >= 2.0  # the Retry-After, not the 0.2 s backoff
    assert aws.amazon.calls()["tokens.restrictedDataToken"] == 2


def test_a_retry_after_past_the_deadline_is_not_waited_for(handler, authorize, aws, clock):
    vend, _ = handler
    seller = authorize()
    aws.amazon.reset_calls()
    aws.amazon.set_fault("rdt", status=429, retry_after=60)

    with pytest.raises(UpstreamUnavailable, match="429"):
        vend(rdt(seller), timeout=10)

    assert all(wait < 10 for wait in clock)
    assert aws.amazon.calls()["tokens.restrictedDataToken"] == 1


# ---------------------------------------------------------------- unauthorized_client: one grant's, or the app's


def sweep_once(monkeypatch, run_id: str = "run-1") -> tuple[str, dict, list[str]]:
    from sellertoken import sweep as sweep_module

    counted: list[str] = []
    monkeypatch.setattr(sweep_module, "count", lambda metric, value=1: counted.append(metric))
    with acting_as(names.function_name("sweep")):
        result = Sweep(get_config()).run(Cursor.new(run_id), lambda: 900.0)
    return result.outcome, result.cursor.counts, counted


def health(aws, seller: str) -> dict | None:
    items = [i for i in aws.table_items() if i[names.TABLE_PARTITION_KEY]["S"] == table.health_key("na", seller)]
    return {k: next(iter(v.values())) for k, v in items[0].items()} if items else None


def test_one_grants_unauthorized_client_never_stops_the_sweep_and_gives_that_grant_a_health(
    authorize, aws, monkeypatch
):
    # Given three grants, one of whose refresh tokens LWA refuses for this application
    sellers = [authorize() for _ in range(3)]
    aws.amazon.set_client_mismatch(sellers[1])
    aws.amazon.reset_calls()

    # When the sweep runs
    outcome, counts, counted = sweep_once(monkeypatch)

    # Then it asked LWA about the application (a grantless call), went on, and raised no app alarm
    assert outcome == "completed" and counts == {"healthy": 2, "failing": 1}
    assert aws.amazon.calls()["token.client_credentials"] == 1
    assert names.METRIC_APP_CREDENTIALS_REJECTED not in counted
    events = aws.events()
    assert names.EVENT_APP_CREDENTIALS_REJECTED not in {e["detail-type"] for e in events}
    assert names.EVENT_GRANT_REVOKED not in {e["detail-type"] for e in events}
    # and only that grant carries the health an operator sees, never a revocation
    tags = aws.grant("na", sellers[1])[1]
    assert (tags[names.TAG_STATUS], tags[names.TAG_HEALTH]) == (names.STATUS_ACTIVE, names.HEALTH_UNAUTHORIZED)
    assert health(aws, sellers[1])["last_error"].startswith("unauthorized_client")
    assert all(names.TAG_HEALTH not in aws.grant("na", s)[1] for s in (sellers[0], sellers[2]))


def test_unauthorized_client_for_the_application_itself_stops_the_sweep_as_rejected_credentials(
    authorize, aws, monkeypatch
):
    authorize()
    aws.amazon.set_fault("token", status=400, error="unauthorized_client")
    aws.amazon.reset_calls()

    outcome, counts, counted = sweep_once(monkeypatch)

    assert outcome == "app_credentials_rejected" and counts.get("failing", 0) == 0
    assert aws.amazon.calls()["token.client_credentials"] == 1  # the application was asked before stopping
    assert names.METRIC_APP_CREDENTIALS_REJECTED in counted
    assert names.EVENT_APP_CREDENTIALS_REJECTED in {e["detail-type"] for e in aws.events()}


def test_a_vend_of_an_unauthorized_grant_is_a_broker_fault_not_the_app_alarm_and_asks_lwa_once(handler, authorize, aws):
    vend, counted = handler
    seller = authorize()
    aws.amazon.set_client_mismatch(seller)
    aws.amazon.reset_calls()

    for _ in range(2):
        with pytest.raises(BrokerFault, match="the seller must authorize it again"):
            vend({"selling_partner_id": seller, "region": "na"})

    assert counted == [names.METRIC_BROKER_FAULT] * 2
    assert aws.amazon.calls()["token.client_credentials"] == 1  # the application's answer is remembered
    assert aws.grant("na", seller)[1][names.TAG_HEALTH] == names.HEALTH_UNAUTHORIZED


def test_an_unauthorized_grant_that_refreshes_again_recovers(authorize, aws, monkeypatch):
    seller = authorize()
    aws.amazon.set_client_mismatch(seller)
    sweep_once(monkeypatch, "run-1")
    aws.events()
    aws.amazon.set_client_mismatch(seller, False)

    outcome, counts, _ = sweep_once(monkeypatch, "run-2")

    assert (outcome, counts) == ("completed", {"healthy": 1})
    assert names.TAG_HEALTH not in aws.grant("na", seller)[1] and health(aws, seller) is None
    assert [e["detail-type"] for e in aws.events() if e["detail-type"] != names.EVENT_SWEEP_COMPLETED] == [
        names.EVENT_GRANT_RECOVERED
    ]


def test_the_seller_of_an_unauthorized_grant_can_authorize_again_and_it_is_healthy(browser, handler, authorize, aws):
    # Given a grant whose stored refresh token LWA refuses for this application, found so by a vend
    vend, _ = handler
    seller = authorize()
    aws.amazon.set_client_mismatch(seller)
    with pytest.raises(BrokerFault):
        vend({"selling_partner_id": seller, "region": "na"})

    # When the seller authorizes again (a token of this application's), and Amazon shows no account data to
    # compare (the app has no Sellers API role): the stored token is all there is to look at
    aws.amazon.set_sellers_role(False)
    consent = browser.start("/authorize?region=na")
    code = aws.amazon.issue_code(seller, REDIRECT_URI)
    query = urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code})
    done = browser.get(f"/callback?{query}")

    # Then the consent lands: the stored token counts as dead for this application (not "Amazon unavailable",
    # which would refuse every renewal of this grant), and the grant is healthy again
    assert done["statusCode"] == 200, done["body"]
    (event,) = [e for e in aws.events() if e["detail-type"] == names.EVENT_SELLER_REAUTHORIZED]
    assert event["detail"]["identity_check"] == "previous_token_dead"
    assert names.TAG_HEALTH not in aws.grant("na", seller)[1]
    assert vend({"selling_partner_id": seller, "region": "na"})["kind"] == "access"
