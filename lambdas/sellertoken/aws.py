"""Lazily created, reused boto3 clients (never at import, so tests and the local stack can point them
elsewhere through AWS_ENDPOINT_URL before first use).

Every client keeps to the invocation's deadline (deadline.py) through botocore's own events: an attempt
starts only if its connect and read timeouts end before the deadline, and an error botocore would retry
is given up at once when its backoff and another attempt no longer fit. The timeouts are short because
every call the broker makes is small and AWS answers it in milliseconds; the retries absorb a lost packet.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.retries import standard

from sellertoken import deadline
from sellertoken.errors import UpstreamUnavailable

_BOTO_CONFIG = BotoConfig(
    connect_timeout=0.5,
    read_timeout=1.0,
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=50,
)
# botocore's standard mode sleeps up to 2**(attempt-1) s (throttling) before the next attempt, at most 20 s.
_MAX_BACKOFF = 20.0
_RETRYABLE = standard.OrRetryChecker(
    [standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker(), standard.ModeledRetryableChecker()]
)


@functools.cache
def client(service: str, config: BotoConfig | None = None):
    """A client per (service, config): callers that must fail faster pass their own timeouts."""
    made = boto3.session.Session().client(service, config=config or _BOTO_CONFIG)
    settings = made.meta.config
    attempt = float(settings.connect_timeout) + float(settings.read_timeout)
    attempts = int(settings.retries.get("total_max_attempts", 1))
    made.meta.events.register("request-created", functools.partial(_before_attempt, attempt))
    made.meta.events.register_first("needs-retry", functools.partial(_before_retry, attempt, attempts))
    return made


def reset() -> None:
    """Forget every client (tests, and the local stack after it changes endpoints)."""
    client.cache_clear()


def _before_attempt(attempt_seconds: float, operation_name: str = "", **_: Any) -> None:
    # request-created: emitted before every attempt (retries included); an exception here ends the call.
    deadline.current().require(attempt_seconds, f"call {operation_name or 'AWS'}")


def _before_retry(
    attempt_seconds: float,
    max_attempts: int,
    attempts: int,
    response: Any = None,
    caught_exception: BaseException | None = None,
    operation: Any = None,
    request_dict: Any = None,
    **_: Any,
) -> None:
    # needs-retry: emitted after every attempt; botocore sleeps its backoff after it, so decide first.
    if attempts >= max_attempts:
        return  # botocore will not retry: nothing to sleep
    if deadline.current().remaining() >= min(2 ** (attempts - 1), _MAX_BACKOFF) + attempt_seconds:
        return
    context = standard.RetryContext(
        attempt_number=attempts,
        operation_model=operation,
        parsed_response=response[1] if response else None,
        http_response=response[0] if response else None,
        caught_exception=caught_exception,
        request_context=(request_dict or {}).get("context", {}),
    )
    if _RETRYABLE.is_retryable(context):
        name = getattr(operation, "name", "AWS")
        raise UpstreamUnavailable(f"{name} failed and no time is left before the deadline to retry it")
