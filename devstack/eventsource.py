"""Lambda's SQS event source mapping, locally: poll a queue, hand batches to a function, delete what it handled.

As Lambda does it (Lambda developer guide, "Using Lambda with Amazon SQS"): messages are received with the
function's role, up to `batch_size` at a time, and passed as one `Records` event; with ReportBatchItemFailures
the answer's `batchItemFailures` lists the messages that failed, which stay in the queue until their
visibility timeout ends (then SQS hands them out again, and moves them to the dead-letter queue after the
redrive policy's maxReceiveCount); the others are deleted. A failed invocation leaves the whole batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from devstack.awscalls import acting_as
from sellertoken import names

logger = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], dict[str, Any] | None]


class QueueEventSource:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        function_name: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.function_name = function_name
        self.invoke = invoke
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.queue_arn = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()

    def connect(self) -> None:
        """Check the queue and learn its ARN, as Lambda does when the mapping is created."""
        with acting_as(self.function_name):
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]

    def start(self) -> None:
        """Connect, then poll on a thread of its own."""
        self.connect()
        self._thread = threading.Thread(target=self._loop, name=f"event-source-{self.function_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_seconds + 5)

    def poll_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch and hand it over; the number of messages received."""
        with acting_as(self.function_name):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=self.wait_seconds if wait_seconds is None else wait_seconds,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        try:
            answer = self.invoke(event)
        except Exception as exc:  # noqa: BLE001 - a failed invocation leaves the batch for the next receive
            logger.warning("event source: the invocation failed (%s); the batch stays in the queue", type(exc).__name__)
            return len(messages)
        failed = {f.get("itemIdentifier") for f in (answer or {}).get("batchItemFailures", [])}
        with acting_as(self.function_name):
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def drain(self, *, idle_polls: int = 2) -> None:
        """Poll until the queue gave nothing `idle_polls` times in a row (tests: process what was sent)."""
        quiet = 0
        while quiet < idle_polls:
            quiet = quiet + 1 if self.poll_once(wait_seconds=0) == 0 else 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - a poller keeps polling, as Lambda's does
                logger.warning("event source: polling failed (%s)", type(exc).__name__)
                self._stop.wait(1.0)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        # The record shape of Lambda's SQS events (Lambda developer guide, "Example standard queue message event").
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": names.LOCAL_AWS_REGION,
        }


def lambda_invoke(client: Any, function_name: str) -> Invoke:
    """Invoke through a Lambda API (the local stack's endpoint), as the event source mapping does: synchronously."""

    def invoke(event: dict[str, Any]) -> dict[str, Any] | None:
        response = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{function_name} failed: {str((payload or {}).get('errorType'))[:64]}")
        return payload

    return invoke
