"""Helpers for tests that watch what a boto3 client does."""

from __future__ import annotations


class InvokeCounter:
    """Counts the Invoke calls a boto3 client makes (botocore's before-call event)."""

    def __init__(self, client) -> None:
        self.count = 0
        client.meta.events.register("before-call.lambda.Invoke", self._seen)

    def _seen(self, **_) -> None:
        self.count += 1
