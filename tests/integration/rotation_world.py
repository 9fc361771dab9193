"""What the rotation tests share: the rotation function fed by its queue as Lambda's event source mapping
feeds it, the operator's invocations, and readers of the app secret, the dead-letter queue and the metrics."""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from devstack.eventsource import QueueEventSource
from devstack.lambda_context import LocalLambdaContext, invoke
from sellertoken import names, observability, rotation

ROTATION = names.function_name("rotation")


@dataclass
class Rotation:
    aws: Any  # tests.integration.conftest.World
    handler: Any
    source: QueueEventSource
    metrics: list[str] = field(default_factory=list)

    @property
    def amazon(self):
        return self.aws.amazon

    def invoke(self, event: Any) -> Any:
        return invoke(self.handler, event, LocalLambdaContext(ROTATION))

    def operate(self, operation: str, **fields: Any) -> dict:
        return self.invoke({"operation": operation, **fields})

    def check(self) -> dict:
        """The hourly schedule's invocation."""
        return self.invoke({"source": "aws.events", "detail-type": "Scheduled Event", "id": "check", "detail": {}})

    def drain(self) -> None:
        """Hand every message in the queue to the function until the queue is empty."""
        self.source.drain()

    def send(self, notice: dict | str) -> None:
        """Put a message on the queue as Amazon (or anyone the queue policy lets in) would."""
        body = notice if isinstance(notice, str) else json.dumps(notice)
        self.aws.clients["sqs"].send_message(QueueUrl=self.aws.seeded.notification_queue_url, MessageBody=body)

    def sent(self, kind: str) -> list[dict]:
        """The notifications the simulator delivered so far, of one type."""
        return [n for n in self.amazon.client_secrets.sent if n["notificationType"] == kind]

    def app_secret(self) -> dict:
        answer = self.aws.clients["secretsmanager"].get_secret_value(SecretId=names.app_secret_name())
        return json.loads(answer["SecretString"])

    def app_secret_versions(self) -> int:
        sm = self.aws.clients["secretsmanager"]
        return len(sm.list_secret_version_ids(SecretId=names.app_secret_name())["Versions"])

    def dead_letters(self, expected: int, timeout: float = 30.0) -> list[str]:
        """Keep the event source polling until `expected` messages moved to the dead-letter queue (SQS moves a
        message once it was received names.NOTIFICATION_MAX_RECEIVES times); their bodies."""
        sqs, dlq = self.aws.clients["sqs"], self.aws.seeded.notification_dlq_url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.source.poll_once(wait_seconds=1)
            attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= expected:
                break
        bodies = []
        while batch := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []):
            bodies += [m["Body"] for m in batch]
            for message in batch:
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def events_of(self, detail_type: str, events: list[dict]) -> list[dict]:
        return [e["detail"] for e in events if e["detail-type"] == detail_type]


@pytest.fixture
def rotation_world(aws, monkeypatch) -> Rotation:
    """The queue registered at the simulator (the portal step), the rotation function deciding in Amazon's time,
    and the metrics it counts."""
    aws.amazon.register_notification_queue(aws.seeded.notification_queue_url)
    monkeypatch.setattr(rotation, "clock", aws.amazon.now)
    recorded: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, **_: recorded.append(name))
    handler = importlib.import_module("handlers.rotation").handler
    world = Rotation(aws, handler, None, recorded)  # type: ignore[arg-type]
    world.source = QueueEventSource(
        aws.clients["sqs"], aws.seeded.notification_queue_url, ROTATION, world.invoke, wait_seconds=0
    )
    world.source.connect()
    return world
