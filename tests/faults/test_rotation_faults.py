"""The rotation function under every failure of what it calls (tests/faults/rotation_matrix.py): each notice gets
its documented outcome before the function's timeout, never loses the working secret, and changes nothing but
the rotation record and, once stored, the app secret."""

from __future__ import annotations

import importlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.lambda_context import LocalLambdaContext
from sellertoken import names, rotationstate
from tests import doc_tables
from tests.faults.conftest import Cell
from tests.faults.matrix import LWA
from tests.faults.rotation_matrix import (
    APPLICATIONS,
    CELLS,
    ENTRY_POINTS,
    REFUSED,
    REQUESTED,
    RETRIED,
    STORED,
    UNCONFIRMED,
    RotationFault,
    cell_id,
    not_called,
)
from tests.integration.conftest import APP

NEW_SECRET = "amzn1.oa2-cs.v1." + "4e" * 32
USUAL = {"expiry notice": REQUESTED, "new-secret notice": STORED}
REGENERATE = "regenerate with `PYTHONPATH=lambdas .venv/bin/python -m tests.doc_tables`"


def test_the_docs_table_is_the_rotation_matrix():
    shown = doc_tables.section(doc_tables.FAULTS.read_text(), "rotation-fault-matrix")

    assert shown == doc_tables.rotation_fault_table(), REGENERATE


@pytest.fixture
def notices(cell: Cell):
    """Amazon may rotate: the cell's world has a queue registered for the new secret (emptied afterwards)."""
    queue = cell.world.seeded.notification_queue_url
    cell.world.amazon.register_notification_queue(queue)
    yield cell
    sqs = cell.world.clients["sqs"]
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.parametrize("spec", CELLS, ids=cell_id)
def test_a_fault_gives_the_notice_its_documented_outcome_and_keeps_the_working_secret(notices: Cell, spec):
    fault, entry = spec
    before = notices.world.snapshot(notices.prefix)
    timeout = _timeout((fault,))

    outcome = _run(notices, (fault,), entry, timeout)

    after = notices.world.snapshot(notices.prefix)
    kinds = {event["detail-type"] for event in notices.world.events()}
    assert outcome == fault.outcomes[entry]
    app = names.app_secret_name(notices.prefix)
    current = json.loads(after.secrets[app][0])["client_secret"]
    assert current == (NEW_SECRET if outcome == STORED else APP["client_secret"])
    assert {name: v for name, v in after.secrets.items() if name != app} == {
        name: v for name, v in before.secrets.items() if name != app
    }
    assert before.changed_keys(after) <= {rotationstate.KEY}
    assert kinds <= ({names.EVENT_APP_CREDENTIALS_ROTATED} if outcome == STORED else set())


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_notice_never_calls_what_is_not_on_its_path(notices: Cell, entry):
    faults = not_called(entry)

    outcome = _run(notices, faults, entry, _timeout(faults))

    calls = notices.world.amazon.calls()
    counted = {
        LWA: calls["token.client_credentials"],
        APPLICATIONS: calls["applications.rotateApplicationClientSecret"],
        **{fault.dependency: notices.faults.calls[fault.aws.service] for fault in faults if fault.aws},
    }
    assert (outcome, {f.dependency: counted[f.dependency] for f in faults}) == (
        USUAL[entry],
        {f.dependency: 0 for f in faults},
    )


def _timeout(faults: tuple[RotationFault, ...]) -> float:
    """The deployed 30 s, but short where Amazon hangs for real (an AWS hang only moves the deadline clock):
    5 s, of which the rotation keeps half to record Amazon's answer (one DynamoDB attempt takes up to 1.5 s)."""
    return 5.0 if any(f.amazon.get("hang") for f in faults) else 30.0


def _run(cell: Cell, faults: tuple[RotationFault, ...], entry: str, timeout: float) -> str:
    handler = importlib.import_module("handlers.rotation").handler
    context = LocalLambdaContext(names.function_name("rotation"), timeout_seconds=timeout)
    event = {"Records": [_record(_notice(entry))]}
    started = cell.clock()
    with cell.fault(*faults):  # type: ignore[arg-type] - RotationFault has the fields Cell.fault reads
        try:
            answer = handler(event, context)
        except Exception as error:  # noqa: BLE001 - the outcome under test
            return f"fails: {type(error).__name__}"
    assert cell.clock() - started < timeout, "answered after the function's timeout"
    if answer.get("batchItemFailures"):
        return RETRIED
    if entry == "new-secret notice":
        stored = cell.world.clients["secretsmanager"].get_secret_value(SecretId=names.app_secret_name(cell.prefix))
        return STORED if json.loads(stored["SecretString"])["client_secret"] == NEW_SECRET else "not stored"
    item = cell.world.clients["dynamodb"].get_item(
        TableName=cell.prefix, Key={names.TABLE_PARTITION_KEY: {"S": rotationstate.KEY}}, ConsistentRead=True
    )["Item"]
    record = rotationstate.Record.from_item(item)
    if record.state == rotationstate.REFUSED:
        return REFUSED
    return UNCONFIRMED if record.last_result == "unconfirmed" else REQUESTED


def _notice(entry: str) -> dict:
    now = datetime.now(UTC)

    def iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    if entry == "expiry notice":
        kind, payload = (
            names.NOTICE_SECRET_EXPIRY,
            {"applicationOAuthClientSecretExpiry": {"clientId": APP["client_id"],
                                                    "clientSecretExpiryTime": iso(now + timedelta(days=90))}},
        )  # fmt: skip
    else:
        kind, payload = (
            names.NOTICE_NEW_SECRET,
            {"applicationOAuthClientNewSecret": {"clientId": APP["client_id"], "newClientSecret": NEW_SECRET,
                                                 "newClientSecretExpiryTime": iso(now + timedelta(days=180)),
                                                 "oldClientSecretExpiryTime": iso(now + timedelta(days=7))}},
        )  # fmt: skip
    return {
        "notificationVersion": "1.0",
        "notificationType": kind,
        "payloadVersion": "2023-11-30",
        "eventTime": iso(now),
        "payload": payload,
        "notificationMetadata": {"notificationId": str(uuid.uuid4())},
    }


def _record(notice: dict) -> dict:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(notice),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sellertoken-notifications",
        "awsRegion": "us-east-1",
    }
