"""The validation sweep on moto and the Amazon simulator."""

from __future__ import annotations

import importlib
import json
import queue
from datetime import UTC, datetime, timedelta

import pytest

from devstack.awscalls import acting_as
from devstack.lambda_context import LocalLambdaContext, invoke
from devstack.lambda_invoke import LocalLambda
from sellertoken import aws as aws_clients
from sellertoken import grants, names, sweep, table
from sellertoken.config import get_config
from sellertoken.sweep import Cursor, Sweep


def run_to_end(
    sweeper: Sweep, remaining=lambda: 900.0, run_id: str = "run-1", cursor: Cursor | None = None
) -> sweep.Result:
    with acting_as(names.function_name("sweep")):  # its AWS calls are the sweep function's (tests/iam)
        result = sweeper.run(cursor or Cursor.new(run_id), remaining)
        while result.outcome == "continued":
            result.cursor.invocations += 1
            result = sweeper.run(Cursor.from_payload(sweep.cursor_payload(result.cursor)["sweep_cursor"]), remaining)
    return result


def tags(aws, seller: str, region: str = "na") -> dict[str, str]:
    return aws.grant(region, seller)[1]


def versions(aws, seller: str) -> int:
    sm = aws.clients["secretsmanager"]
    return len(sm.list_secret_version_ids(SecretId=names.grant_secret_name("na", seller))["Versions"])


def detail_types(events: list[dict]) -> list[str]:
    return [e["detail-type"] for e in events]


def test_of_five_grants_only_the_one_revoked_at_amazon_is_flagged(authorize, aws):
    sellers = [authorize() for _ in range(5)]
    before = {s: (tags(aws, s), versions(aws, s)) for s in sellers}
    aws.amazon.revoke(sellers[2])
    aws.amazon.reset_calls()

    result = run_to_end(Sweep(get_config()))

    assert result.outcome == "completed"
    assert tags(aws, sellers[2])[names.TAG_STATUS] == names.STATUS_REVOKED
    assert tags(aws, sellers[2])[names.TAG_REVOKED_REASON] == "invalid_grant"
    for seller in sellers[:2] + sellers[3:]:
        assert (tags(aws, seller), versions(aws, seller)) == before[seller]
    events = aws.events()
    revoked = [e for e in events if e["detail-type"] == names.EVENT_GRANT_REVOKED]
    assert [e["detail"]["selling_partner_id"] for e in revoked] == [sellers[2]]
    assert revoked[0]["detail"]["detected_by"] == "sweep"
    completed = [e["detail"] for e in events if e["detail-type"] == names.EVENT_SWEEP_COMPLETED]
    assert completed[0] | {"duration_seconds": 0} == completed[0] | {
        "outcome": "completed",
        "checked": 5,
        "healthy": 4,
        "revoked": 1,
        "failing": 0,
        "duration_seconds": 0,
    }
    assert aws.amazon.calls()["token.refresh_token"] == 5


def test_a_revoked_grant_is_not_checked_again(authorize, aws):
    seller = authorize()
    grants.mark_revoked(names.DEFAULT_PREFIX, "na", seller, "invalid_grant")
    aws.amazon.reset_calls()

    result = run_to_end(Sweep(get_config()))

    assert result.cursor.counts.get("inactive") == 1
    assert aws.amazon.calls().get("token.refresh_token", 0) == 0


def test_a_whole_sweep_during_an_lwa_outage_flags_nobody(authorize, aws):
    sellers = [authorize() for _ in range(4)]
    aws.amazon.set_fault("token", status=503)
    try:
        result = run_to_end(Sweep(get_config()))
    finally:
        aws.amazon.set_fault("token")

    assert result.cursor.counts == {"failing": 4}
    for seller in sellers:
        assert tags(aws, seller)[names.TAG_STATUS] == names.STATUS_ACTIVE
        assert tags(aws, seller)[names.TAG_HEALTH] == names.HEALTH_FAILING
    events = aws.events()
    assert names.EVENT_GRANT_REVOKED not in detail_types(events)
    record = aws.clients["dynamodb"].get_item(
        TableName=aws.seeded.table_name, Key=table.key(table.health_key("na", sellers[0]))
    )["Item"]
    assert record["failing_runs"]["N"] == "1" and record["last_error"]["S"].startswith("UpstreamUnavailable")


def test_failing_runs_count_runs_and_a_recovery_is_announced_once(authorize, aws):
    seller = authorize()
    aws.amazon.set_fault("token", status=500)
    try:
        run_to_end(Sweep(get_config()), run_id="r1")
        run_to_end(Sweep(get_config()), run_id="r2")
    finally:
        aws.amazon.set_fault("token")
    health_key = table.key(table.health_key("na", seller))
    item = aws.clients["dynamodb"].get_item(TableName=aws.seeded.table_name, Key=health_key)["Item"]
    assert item["failing_runs"]["N"] == "2"
    aws.events()

    run_to_end(Sweep(get_config()), run_id="r3")
    run_to_end(Sweep(get_config()), run_id="r4")

    recovered = [e for e in aws.events() if e["detail-type"] == names.EVENT_GRANT_RECOVERED]
    assert len(recovered) == 1 and recovered[0]["detail"]["failing_runs"] == 2
    assert names.TAG_HEALTH not in tags(aws, seller)
    assert "Item" not in aws.clients["dynamodb"].get_item(TableName=aws.seeded.table_name, Key=health_key)


def test_rejected_app_credentials_stop_the_sweep_flag_nobody_and_raise_the_alarm_event(authorize, aws):
    sellers = [authorize() for _ in range(3)]
    aws.amazon.set_client_secret_valid(False)
    try:
        result = run_to_end(Sweep(get_config()))
    finally:
        aws.amazon.set_client_secret_valid(True)

    assert result.outcome == "app_credentials_rejected"
    for seller in sellers:
        assert tags(aws, seller)[names.TAG_STATUS] == names.STATUS_ACTIVE
        assert names.TAG_HEALTH not in tags(aws, seller)
    kinds = detail_types(aws.events())
    assert names.EVENT_APP_CREDENTIALS_REJECTED in kinds and names.EVENT_GRANT_REVOKED not in kinds
    assert aws.amazon.calls()["token.error"] <= 2 * 3  # stops at once, not once per grant with retries


def test_a_sweep_cut_off_by_a_tiny_time_budget_checks_every_grant_exactly_once(authorize, aws, monkeypatch):
    sellers = {authorize() for _ in range(12)}
    sweeper = Sweep(get_config())
    sweeper.page_size = 5
    checked: list[str] = []
    original = sweeper.vendor.refresh_grant
    monkeypatch.setattr(
        sweeper.vendor, "refresh_grant", lambda g, **kw: (checked.append(g.selling_partner_id), original(g, **kw))[1]
    )
    budget = iter([900.0, 900.0, 0.0] * 100)  # each invocation gets time for about two grants

    result = run_to_end(sweeper, remaining=lambda: next(budget))

    assert result.outcome == "completed" and result.cursor.invocations > 3
    assert sorted(checked) == sorted(sellers)
    assert result.cursor.counts == {"healthy": 12}


def test_the_handler_continues_itself_with_a_cursor_when_time_runs_low(authorize, aws, monkeypatch):
    sellers = [authorize() for _ in range(3)]
    monkeypatch.setenv(names.ENV_SWEEP_TIME_MARGIN_SECONDS, "30")
    get_config.cache_clear()
    handler = importlib.import_module("handlers.sweep").handler
    # The continuation goes through Lambda's Invoke API (the local endpoint) to a stand-in that only keeps
    # the event and the invocation type: this test looks at the first invocation alone.
    continued: queue.Queue = queue.Queue()
    sweep_name = names.function_name("sweep")
    local = LocalLambda({sweep_name: lambda event, context: continued.put((event, context.function_name))})
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", local.start())
    aws_clients.reset()
    context = LocalLambdaContext(sweep_name, timeout_seconds=29)  # already below the 30 s margin
    try:
        first = invoke(handler, {"id": "scheduled-1", "source": "aws.events"}, context)
        payload, invoked = continued.get(timeout=10)
    finally:
        local.stop()

    assert first["outcome"] == "continued" and invoked == sweep_name and continued.empty()
    assert payload["sweep_cursor"]["run_id"] == "scheduled-1" and payload["sweep_cursor"]["invocations"] == 2
    assert first["counts"] == {"healthy": 1}  # at least one grant per invocation, so a run always ends
    assert len(sellers) == 3


def test_reauthorization_reminders_fire_once_each(authorize, aws):
    seller = authorize()
    authorized = datetime.now(UTC) - timedelta(days=340)  # 25 days left
    grants.set_tags(
        names.DEFAULT_PREFIX, "na", seller, {names.TAG_AUTHORIZED_AT: authorized.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    deadline = (authorized + timedelta(days=365)).timestamp()

    def reminders_after(days_left: float, run_id: str) -> list[int]:
        run_to_end(Sweep(get_config(), now=lambda: deadline - days_left * 86400), run_id=run_id)
        due = [e for e in aws.events() if e["detail-type"] == names.EVENT_REAUTHORIZATION_DUE]
        return [e["detail"]["reminder"] for e in due]

    assert reminders_after(25, "a") == [30]
    assert reminders_after(24, "b") == []
    assert reminders_after(6.5, "c") == [7]
    assert reminders_after(6, "d") == []
    assert reminders_after(0.5, "e") == [1]
    assert reminders_after(0.4, "f") == []
    assert tags(aws, seller)[names.TAG_REAUTH_REMINDED] == "1"


def test_reauthorizing_a_seller_flagged_by_the_sweep_reactivates_it(authorize, aws):
    seller = authorize()
    aws.amazon.revoke(seller)
    run_to_end(Sweep(get_config()))
    assert tags(aws, seller)[names.TAG_STATUS] == names.STATUS_REVOKED
    aws.events()

    authorize(seller=seller)

    current = tags(aws, seller)
    assert current[names.TAG_STATUS] == names.STATUS_ACTIVE and names.TAG_REVOKED_AT not in current
    aws.amazon.reset_calls()
    result = run_to_end(Sweep(get_config()), run_id="after")
    assert result.cursor.counts == {"healthy": 1}


def test_the_sweep_warms_the_shared_cache(authorize, aws):
    from sellertoken.vending import Vendor, parse_request

    seller = authorize()
    run_to_end(Sweep(get_config()))
    aws.amazon.reset_calls()

    Vendor(get_config()).vend(parse_request({"selling_partner_id": seller, "region": "na"}))

    assert aws.amazon.calls().get("token.refresh_token", 0) == 0


def test_the_latest_run_is_recorded_for_operators(authorize, aws):
    authorize()

    run_to_end(Sweep(get_config()), run_id="recorded")

    latest = table.key(table.SWEEP_LATEST_KEY)
    item = aws.clients["dynamodb"].get_item(TableName=aws.seeded.table_name, Key=latest)["Item"]
    assert item["done"]["BOOL"] is True and json.loads(item["summary"]["S"])["run_id"] == "recorded"


@pytest.mark.parametrize("event", [[], {"sweep_cursor": {"run_id": "x"}}, {"run_id": 5}])
def test_a_malformed_sweep_event_is_an_invalid_request(aws, event):
    from sellertoken.errors import InvalidRequest

    handler = importlib.import_module("handlers.sweep").handler
    with pytest.raises(InvalidRequest):
        invoke(handler, event, LocalLambdaContext(names.function_name("sweep")))
