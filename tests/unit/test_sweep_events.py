"""The sweep's input, parsed before anything runs: a scheduled event, an operator's start, or its own
continuation cursor. A continuation arrives through Lambda's async invoke, so anything allowed to
invoke the function can send one: every field is checked, and a bad one is an InvalidRequest naming it.
"""

from __future__ import annotations

import pytest

from sellertoken.errors import InvalidRequest
from sellertoken.sweep import (
    FULL,
    MAX_PROOF_AGE,
    OPERATOR,
    PAGE_SIZE,
    RUN_RECORD_DAYS,
    SCHEDULED,
    Cursor,
    cursor_payload,
    parse_event,
)

NOW = 1_900_000_000.0


def cursor(**changes: object) -> dict:
    """A continuation as the sweep itself would send it, with `changes` applied (None: field removed)."""
    valid = {
        "run_id": "run-7",
        "started_at": NOW - 600,
        "next_token": None,
        "offset": 0,
        "invocations": 2,
        "counts": {"healthy": 3, "failing": 1},
        "kind": SCHEDULED,
        "proven_since": NOW - 600 - 3600,
    }
    valid.update(changes)
    return {"sweep_cursor": {k: v for k, v in valid.items() if v is not None or k in ("next_token", "proven_since")}}


def without(field: str) -> dict:
    event = cursor()
    del event["sweep_cursor"][field]
    return event


MALFORMED = [
    ("cursor not an object", {"sweep_cursor": ["run-7"]}, "sweep_cursor"),
    ("cursor null", {"sweep_cursor": None}, "sweep_cursor"),
    ("unknown cursor field", cursor(extra=1), "sweep_cursor.extra"),
    ("a second top-level field", {**cursor(), "run_id": "other"}, "run_id"),
    ("run_id missing", without("run_id"), "sweep_cursor.run_id"),
    ("run_id a number", cursor(run_id=7), "sweep_cursor.run_id"),
    ("run_id empty", cursor(run_id=""), "sweep_cursor.run_id"),
    ("run_id too long", cursor(run_id="r" * 129), "sweep_cursor.run_id"),
    ("run_id with a key separator", cursor(run_id="a#latest"), "sweep_cursor.run_id"),
    ("run_id with a control byte", cursor(run_id="a\x00b"), "sweep_cursor.run_id"),
    ("started_at missing", without("started_at"), "sweep_cursor.started_at"),
    ("started_at a string", cursor(started_at="yesterday"), "sweep_cursor.started_at"),
    ("started_at a boolean", cursor(started_at=True), "sweep_cursor.started_at"),
    ("started_at not finite", cursor(started_at=float("nan")), "sweep_cursor.started_at"),
    ("started_at in the future", cursor(started_at=NOW + 3600), "sweep_cursor.started_at"),
    (
        "started_at older than a run record lives",
        cursor(started_at=NOW - (RUN_RECORD_DAYS + 1) * 86400),
        "sweep_cursor.started_at",
    ),
    ("next_token a number", cursor(next_token=5), "sweep_cursor.next_token"),
    ("next_token empty", cursor(next_token=""), "sweep_cursor.next_token"),
    ("next_token oversized", cursor(next_token="t" * 4097), "sweep_cursor.next_token"),
    ("next_token with a control byte", cursor(next_token="abc\ndef"), "sweep_cursor.next_token"),
    ("offset negative", cursor(offset=-3), "sweep_cursor.offset"),
    ("offset past a page", cursor(offset=PAGE_SIZE + 1), "sweep_cursor.offset"),
    ("offset a float", cursor(offset=1.5), "sweep_cursor.offset"),
    ("offset a string", cursor(offset="2"), "sweep_cursor.offset"),
    ("offset a boolean", cursor(offset=True), "sweep_cursor.offset"),
    ("invocations zero", cursor(invocations=0), "sweep_cursor.invocations"),
    ("invocations huge", cursor(invocations=10**40), "sweep_cursor.invocations"),
    ("invocations a string", cursor(invocations="2"), "sweep_cursor.invocations"),
    ("counts a list", cursor(counts=[1, 2]), "sweep_cursor.counts"),
    ("counts with an unknown outcome", cursor(counts={"stolen": 1}), "sweep_cursor.counts"),
    ("counts negative", cursor(counts={"healthy": -1}), "sweep_cursor.counts"),
    ("counts a string value", cursor(counts={"healthy": "3"}), "sweep_cursor.counts"),
    ("counts a boolean value", cursor(counts={"healthy": True}), "sweep_cursor.counts"),
    ("counts huge", cursor(counts={"healthy": 10**40}), "sweep_cursor.counts"),
    ("kind unknown", cursor(kind="weekly"), "sweep_cursor.kind"),
    ("kind a number", cursor(kind=1), "sweep_cursor.kind"),
    ("proven_since a string", cursor(proven_since="an hour ago"), "sweep_cursor.proven_since"),
    ("proven_since a boolean", cursor(proven_since=True), "sweep_cursor.proven_since"),
    ("proven_since after the run started", cursor(proven_since=NOW + 3600), "sweep_cursor.proven_since"),
    (
        "proven_since older than any window allows",
        cursor(proven_since=NOW - 600 - MAX_PROOF_AGE - 1),
        "sweep_cursor.proven_since",
    ),
    ("proven_since on a full run", cursor(kind=FULL), "sweep_cursor.proven_since"),
    ("operator run_id a number", {"run_id": 5}, "run_id"),
    ("operator run_id with markup", {"run_id": "<b>x</b>"}, "run_id"),
    ("operator run_id too long", {"run_id": "r" * 129}, "run_id"),
    ("operator start with an unknown field", {"run_id": "ok", "offset": -3}, "offset"),
    ("operator start with full not a boolean", {"run_id": "ok", "full": "yes"}, "full"),
    ("scheduled event with a malformed id", {"source": "aws.events", "id": "a b"}, "id"),
    ("not an object", ["run"], "JSON object"),
]


@pytest.mark.parametrize(("event", "field"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_sweep_event_is_an_invalid_request_naming_the_field(event, field):
    with pytest.raises(InvalidRequest) as refused:
        parse_event(event, now=NOW)

    assert field in str(refused.value)


def test_the_table_covers_every_cursor_field():
    named = {field.removeprefix("sweep_cursor.") for _, _, field in MALFORMED}
    assert set(cursor()["sweep_cursor"]) <= named


def test_an_unknown_field_name_is_cut_short_in_the_message():
    with pytest.raises(InvalidRequest) as refused:
        parse_event(cursor(**{"x" * 100_000: 1}), now=NOW)

    assert len(str(refused.value)) < 120


def test_the_cursor_the_sweep_sends_comes_back_unchanged():
    sent = Cursor("run-7", NOW - 60, "token/with+chars==", 42, 3, {"healthy": 40, "revoked": 2})

    assert parse_event(cursor_payload(sent), now=NOW) == sent


def test_a_cursor_with_the_runs_proof_threshold_comes_back_unchanged():
    sent = Cursor("run-7", NOW - 60, None, 0, 2, {"proven": 5}, OPERATOR, NOW - 7200.5)

    assert parse_event(cursor_payload(sent), now=NOW) == sent


def test_a_continuation_sent_before_runs_had_a_kind_goes_on_refreshing_every_grant():
    legacy = cursor()
    del legacy["sweep_cursor"]["kind"], legacy["sweep_cursor"]["proven_since"]

    parsed = parse_event(legacy, now=NOW)

    assert (parsed.kind, parsed.proven_since) == (FULL, None)


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ({"run_id": "cli-1"}, OPERATOR),
        ({"run_id": "cli-1", "full": False}, OPERATOR),
        ({"run_id": "cli-1", "full": True}, FULL),
        ({"full": True}, FULL),
        ({"source": "aws.events", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"}, SCHEDULED),
    ],
)
def test_what_started_a_run_decides_its_kind(event, kind):
    parsed = parse_event(event, now=NOW)

    assert (parsed.kind, parsed.proven_since) == (kind, None)  # the run's first invocation sets the threshold


def test_a_first_page_cursor_with_no_next_token_is_accepted():
    parsed = parse_event(cursor(next_token=None, offset=PAGE_SIZE), now=NOW)

    assert parsed.next_token is None and parsed.offset == PAGE_SIZE


@pytest.mark.parametrize(
    ("event", "run_id"),
    [
        ({"run_id": "cli-0123456789ab"}, "cli-0123456789ab"),
        ({"source": "aws.events", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail": {}}, None),
    ],
    ids=["operator", "schedule"],
)
def test_an_operator_start_or_a_scheduled_event_names_a_new_run(event, run_id):
    parsed = parse_event(event, now=NOW)

    assert parsed.run_id == (run_id or event["id"]) and parsed.offset == 0 and parsed.invocations == 1


def test_an_empty_start_gets_a_fresh_run_id():
    assert parse_event({}, now=NOW).run_id != parse_event({}, now=NOW).run_id
