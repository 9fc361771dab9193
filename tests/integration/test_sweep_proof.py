"""The sweep rides on vend's refreshes: a grant refreshed within the proof window counts as checked with
one read, no write and no LWA call; only the others are refreshed; a revocation is still flagged, at worst
one proof window and one sweep period after the refresh that last proved the grant.

Sweep clocks are injected (`Sweep(now=…)`): the period and window are 100 s here and nothing waits.
"""

from __future__ import annotations

from collections import Counter

import pytest

from devstack.awscalls import RECORDER
from sellertoken import names, table
from sellertoken.config import get_config
from sellertoken.sweep import FULL, OPERATOR, Cursor, Sweep
from sellertoken.tokencache import SharedCache, access_key
from tests.integration.conftest import APP
from tests.integration.test_sweep import run_to_end, tags

PERIOD = 100  # seconds: the sweep period and (by default) the proof window in these tests


@pytest.fixture(autouse=True)
def short_period(monkeypatch):
    monkeypatch.setenv(names.ENV_SWEEP_PERIOD_SECONDS, str(PERIOD))
    get_config.cache_clear()


def refreshes(aws) -> int:
    return aws.amazon.calls().get("token.refresh_token", 0)


def proof_of(aws, seller: str) -> float | None:
    """When the seller's grant was last refreshed, as its token item says."""
    cache = SharedCache(aws.seeded.table_name, aws.clients["dynamodb"])
    return cache.minted_at(access_key(APP["client_id"], "na", seller))


def sweep_at(now: float, kind: str = "scheduled", run_id: str = "run") -> Counter:
    """One whole run whose clock reads `now` at its start; returns its counts."""
    sweeper = Sweep(get_config(), now=lambda: now)
    return Counter(run_to_end(sweeper, run_id=run_id, cursor=Cursor.new(run_id, kind)).cursor.counts)


def test_grants_vended_within_the_window_cost_one_read_each_no_write_and_no_lwa_call(authorize, vend, aws):
    # Given three grants a vend refreshed a moment ago
    sellers = [authorize() for _ in range(3)]
    for seller in sellers:
        vend({"selling_partner_id": seller, "region": "na"})
    aws.amazon.reset_calls()
    start = len(RECORDER.calls)

    # When a scheduled sweep runs
    counts = sweep_at(max(proof_of(aws, s) for s in sellers) + 1)

    # Then each is checked by reading its token item, nothing is written for it, and LWA is not called
    calls = Counter(c["operation"] for c in RECORDER.calls[start:])
    assert counts == {"proven": 3} and refreshes(aws) == 0
    assert calls["GetItem"] == 3 and calls["GetSecretValue"] == 0
    writes = {op: n for op, n in calls.items() if not op.startswith(("Get", "List", "Describe"))}
    assert writes == {"PutItem": 2, "PutEvents": 1}  # the run's record and its "latest" copy; its summary event


def test_only_the_grants_without_a_recent_refresh_are_refreshed(authorize, vend, aws):
    # Given one grant vended a moment ago and one nobody vended since its consent
    vended, idle = authorize(), authorize()
    vend({"selling_partner_id": vended, "region": "na"})
    aws.amazon.reset_calls()

    # When a scheduled sweep runs
    counts = sweep_at(proof_of(aws, vended) + 1)

    # Then LWA refreshes the idle one only, and its refresh is proof for the next run
    assert counts == {"proven": 1, "healthy": 1} and refreshes(aws) == 1
    assert proof_of(aws, idle) is not None


def test_a_revocation_right_after_a_proving_refresh_is_flagged_by_the_first_run_after_the_proof_ages_out(
    authorize, vend, aws
):
    # Given a grant refreshed by a vend, whose seller removes the app right after
    seller = authorize()
    vend({"selling_partner_id": seller, "region": "na"})
    refreshed = proof_of(aws, seller)
    aws.amazon.revoke(seller)
    aws.amazon.reset_calls()
    window = get_config().sweep_proof_seconds
    assert window == PERIOD  # the default window is one sweep period

    # When scheduled runs start every period, the first as late as the proof still counts
    first = sweep_at(refreshed + window, run_id="s1")
    after_first = (tags(aws, seller)[names.TAG_STATUS], refreshes(aws))
    second = sweep_at(refreshed + window + PERIOD, run_id="s2")

    # Then the first relies on the proof, and the next one, window + period after the refresh, flags the seller
    assert (first, after_first) == ({"proven": 1}, (names.STATUS_ACTIVE, 0))
    assert second == {"revoked": 1} and tags(aws, seller)[names.TAG_STATUS] == names.STATUS_REVOKED
    flagged = [e for e in aws.events() if e["detail-type"] == names.EVENT_GRANT_REVOKED]
    assert [e["detail"]["detected_by"] for e in flagged] == ["sweep"]


def test_an_operators_sweep_right_after_a_complete_one_makes_no_lwa_call(authorize, vend, aws):
    # Given a scheduled run that relied on a vend's refresh near the end of its window and refreshed the rest
    near_edge = authorize()
    authorize()  # and one nobody vended
    vend({"selling_partner_id": near_edge, "region": "na"})
    refreshed = proof_of(aws, near_edge)
    scheduled = sweep_at(refreshed + PERIOD - 10, run_id="scheduled")
    assert scheduled == {"proven": 1, "healthy": 1}
    aws.amazon.reset_calls()

    # When an operator starts a sweep 20 s later (the first grant's proof is now older than the window)
    again = sweep_at(refreshed + PERIOD + 10, OPERATOR, run_id="again")

    # Then it relies on what the complete run relied on: every grant is checked, LWA is not called
    assert again == {"proven": 2} and refreshes(aws) == 0


def test_a_full_sweep_refreshes_a_grant_whatever_its_proof(authorize, vend, aws):
    seller = authorize()
    vend({"selling_partner_id": seller, "region": "na"})
    aws.amazon.reset_calls()

    counts = sweep_at(proof_of(aws, seller) + 1, FULL)

    assert counts == {"healthy": 1} and refreshes(aws) == 1


def test_a_window_of_zero_makes_every_run_refresh_every_grant(authorize, vend, aws, monkeypatch):
    seller = authorize()
    vend({"selling_partner_id": seller, "region": "na"})
    monkeypatch.setenv(names.ENV_SWEEP_PROOF_SECONDS, "0")
    get_config.cache_clear()
    aws.amazon.reset_calls()

    counts = sweep_at(proof_of(aws, seller) + 1)

    assert counts == {"healthy": 1} and refreshes(aws) == 1


def test_a_failing_grant_that_vend_refreshed_again_is_announced_recovered_without_an_lwa_call(authorize, vend, aws):
    # Given a grant the sweep found failing during an LWA outage, and a vend that refreshed it since
    seller = authorize()
    aws.amazon.set_fault("token", status=503)
    try:
        run_to_end(Sweep(get_config()), run_id="outage")
    finally:
        aws.amazon.set_fault("token")
    assert tags(aws, seller)[names.TAG_HEALTH] == names.HEALTH_FAILING
    vend({"selling_partner_id": seller, "region": "na"})
    aws.events()
    aws.amazon.reset_calls()

    # When the next sweep runs
    counts = sweep_at(proof_of(aws, seller) + 1, run_id="after")

    # Then the vend's refresh is its check: recovered, announced once, and LWA not called
    recovered = [e for e in aws.events() if e["detail-type"] == names.EVENT_GRANT_RECOVERED]
    assert counts == {"proven": 1} and refreshes(aws) == 0
    assert len(recovered) == 1 and names.TAG_HEALTH not in tags(aws, seller)


def test_a_grants_proof_outlives_its_token_when_the_window_is_longer(authorize, vend, aws, monkeypatch):
    # Given a proof window of two hours, longer than a token lives
    monkeypatch.setenv(names.ENV_SWEEP_PROOF_SECONDS, "7200")
    get_config.cache_clear()
    seller = authorize()

    # When a vend refreshes the grant
    vend({"selling_partner_id": seller, "region": "na"})

    # Then its token item stays (DynamoDB's TTL) until the window has passed, not only until the token expires
    key = table.key(table.token_key(access_key(APP["client_id"], "na", seller)))
    item = aws.clients["dynamodb"].get_item(TableName=aws.seeded.table_name, Key=key)["Item"]
    minted, expires = float(item["minted_at"]["N"]), float(item["expires_at"]["N"])
    assert expires < minted + 7200 <= int(item[names.TABLE_TTL_ATTRIBUTE]["N"])
