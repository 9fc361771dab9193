"""Every outside dependency x its failure modes x every entry point (tests/faults/matrix.py): each cell gets
its documented outcome before the function's timeout, flags no seller revoked, and writes nothing it must
not (secrets, their versions and tags, the table, events compared before and after)."""

from __future__ import annotations

import time

import pytest

from sellertoken import names, table
from tests import doc_tables
from tests.faults.conftest import NOTIFICATIONS, ORDERS, SWEEP_MARGIN_SECONDS, Cell, Snapshot
from tests.faults.matrix import CELLS, ENTRY_POINTS, LWA, SP_API, TOKEN, Fault, cell_id, not_called

VENDS = ("vend", "rdt", "grantless")
REGENERATE = "regenerate with `PYTHONPATH=lambdas .venv/bin/python -m tests.doc_tables`"
USUAL = {"callback": "200", "vend": TOKEN, "rdt": TOKEN, "grantless": TOKEN, "sweep": "healthy"}


def test_the_docs_table_is_the_matrix():
    shown = doc_tables.section(doc_tables.FAULTS.read_text(), "fault-matrix")

    assert shown == doc_tables.fault_table(), REGENERATE


@pytest.mark.parametrize("spec", CELLS, ids=cell_id)
def test_a_fault_gives_its_documented_outcome_in_time_and_leaves_no_trace(cell, spec):
    fault, entry = spec
    # Given a seller's grant (the callback makes its own) and the state of everything before
    if entry != "callback":
        cell.grant()
    before = cell.world.snapshot(cell.prefix)
    started = time.time()
    timeout = _timeout((fault,), entry)

    # When the entry point runs while the dependency fails
    outcome = _run(cell, (fault,), entry, timeout)

    # Then the outcome is the documented one, and nothing is left that should not be
    after = cell.world.snapshot(cell.prefix)
    kinds = {event["detail-type"] for event in cell.world.events()}
    assert outcome == fault.outcomes[entry]
    _assert_no_revocation(after, kinds)
    _assert_no_partial_write(cell, entry, outcome, before, after, kinds, leases_end_by=started + timeout)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_entry_point_never_calls_what_is_not_on_its_path(cell, entry):
    # Given every dependency the matrix marks `not called` for this entry point failing at once
    faults = not_called(entry)
    if entry != "callback":
        cell.grant()

    # When the entry point runs
    outcome = _run(cell, faults, entry, _timeout(faults, entry))

    # Then it answers as usual and none of them got a single call
    counted = {
        SP_API: cell.world.amazon.calls()["tokens.restrictedDataToken"],
        **{fault.dependency: cell.faults.calls[fault.aws.service] for fault in faults if fault.aws},
    }
    assert (outcome, {fault.dependency: counted[fault.dependency] for fault in faults}) == (
        USUAL[entry],
        {fault.dependency: 0 for fault in faults},
    )


def _timeout(faults: tuple[Fault, ...], entry: str) -> float:
    """The function's timeout: the deployed 30 s, but short where Amazon hangs for real (an AWS hang only
    moves the deadline clock), so that it costs the test little."""
    if not any(fault.amazon.get("hang") and fault.dependency in (LWA, SP_API) for fault in faults):
        return 30.0
    return SWEEP_MARGIN_SECONDS + 3.0 if entry == "sweep" else 5.0


def _run(cell: Cell, faults: tuple[Fault, ...], entry: str, timeout: float) -> str:
    if entry == "callback":
        return cell.callback(faults, timeout)
    if entry == "sweep":
        return cell.sweep(faults, timeout)
    payload = {
        "vend": {"selling_partner_id": cell.seller, "region": "na"},
        "rdt": {"selling_partner_id": cell.seller, "region": "na", "restricted_resources": ORDERS},
        "grantless": {"scope": NOTIFICATIONS},
    }[entry]
    return cell.vend(payload, faults, timeout)


def _assert_no_revocation(after: Snapshot, kinds: set[str]) -> None:
    assert names.EVENT_GRANT_REVOKED not in kinds
    assert [name for name, (_, _, tags) in after.secrets.items() if tags.get(names.TAG_STATUS) == "revoked"] == []


def _assert_no_partial_write(
    cell: Cell, entry: str, outcome: str, before: Snapshot, after: Snapshot, kinds: set[str], leases_end_by: float
) -> None:
    changed = before.changed_keys(after)
    # A lease its holder had no time left to delete ends at the holder's deadline, before the function's timeout.
    leftover = [k for k in changed if k.startswith(table.LEASE_PREFIX) and k not in before.table]
    assert [k for k in leftover if float(after.table[k]["lease_until"]["N"]) > leases_end_by] == []
    changed -= set(leftover)
    if entry in VENDS:
        # A cached access token is a whole, valid write (an RDT that failed at SP-API still refreshed one), and
        # so is an LWA slot taken from the fleet's budget (budget.py), or a pause after a 429.
        assert after.secrets == before.secrets and not kinds
        assert [key for key in changed if not key.startswith((table.TOKEN_PREFIX, table.BUDGET_PREFIX))] == []
        return
    if entry == "callback":
        grant = names.grant_secret_name("na", cell.seller, cell.prefix)
        stored = {grant} if outcome == "200" else set()
        assert set(after.secrets) - set(before.secrets) == stored
        assert {k: v for k, v in after.secrets.items() if k not in stored} == before.secrets
        assert [key for key in changed if not key.startswith(table.STATE_PREFIX)] == []  # the state is spent, by design
        assert kinds <= {names.EVENT_SELLER_AUTHORIZED}
        return
    # The sweep records what it saw: a health tag and record, its run records, a warmed cache, its LWA slots,
    # its events.
    for name, (value, versions, tags) in after.secrets.items():
        old_value, old_versions, old_tags = before.secrets[name]
        assert (value, versions) == (old_value, old_versions)
        assert _without_health(tags) == _without_health(old_tags)
    assert [
        key
        for key in changed
        if not key.startswith(
            (
                table.HEALTH_PREFIX,
                table.SWEEP_RUN_PREFIX,
                table.SWEEP_LATEST_KEY,
                table.TOKEN_PREFIX,
                table.BUDGET_PREFIX,
            )
        )
    ] == []
    assert kinds <= {names.EVENT_SWEEP_COMPLETED, names.EVENT_APP_CREDENTIALS_REJECTED}


def _without_health(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k != names.TAG_HEALTH}
