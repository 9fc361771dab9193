"""The sweep handler refuses a malformed continuation before it checks a grant or writes anything.

The field-by-field table is in tests/unit/test_sweep_events.py; these are the attacks the probe found,
through the handler on moto and the Amazon simulator.
"""

from __future__ import annotations

import importlib
import time

import pytest

from devstack.lambda_context import LocalLambdaContext, invoke
from sellertoken import names
from sellertoken.errors import InvalidRequest


def sweep(event: object) -> dict:
    handler = importlib.import_module("handlers.sweep").handler
    return invoke(handler, event, LocalLambdaContext(names.function_name("sweep")))


def continuation(**changes: object) -> dict:
    cursor = {"run_id": "run-7", "started_at": time.time() - 60, "next_token": None, "offset": 0}
    return {"sweep_cursor": {**cursor, "invocations": 2, "counts": {"healthy": 3}, **changes}}


@pytest.mark.parametrize(
    "changes",
    [{"offset": -3}, {"next_token": 5}, {"counts": [1, 2]}],
    ids=["offset -3 (checked 3 and reported completed)", "next_token a number (moto 500)", "counts a list"],
)
def test_a_malformed_continuation_checks_no_grant_and_writes_nothing(authorize, aws, changes):
    for _ in range(5):
        authorize()
    before = (aws.snapshot(), aws.amazon.calls())

    with pytest.raises(InvalidRequest, match=f"sweep_cursor.{next(iter(changes))}"):
        sweep(continuation(**changes))

    assert (aws.snapshot(), aws.amazon.calls()) == before
    assert aws.events() == []


def test_a_well_formed_continuation_finishes_the_run_with_the_counts_it_carries(authorize, aws):
    authorize()

    result = sweep(continuation())

    assert result == {"run_id": "run-7", "outcome": "completed", "counts": {"healthy": 4}}
