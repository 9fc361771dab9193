"""A Lambda context object for handlers run in-process (local stack and tests)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.awscalls import acting_as


@dataclass
class LocalLambdaContext:
    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def invoke(handler: Callable[[Any, Any], Any], event: Any, context: LocalLambdaContext) -> Any:
    """Run a handler as Lambda runs the function `context` names: the AWS calls it makes are that
    function's, for the IAM check (devstack/awscalls.py)."""
    with acting_as(context.function_name):
        return handler(event, context)
