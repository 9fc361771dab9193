"""Lazily created, reused boto3 clients (never at import, so tests and the local stack can point them
elsewhere through AWS_ENDPOINT_URL before first use).

Every client keeps to the invocation's deadline (deadline.py) through botocore's own events: an attempt
starts only if its connect and read timeouts end before the deadline (else UpstreamUnavailable), and an
error botocore would retry is given up, as when the attempts are spent, once its backoff and another
attempt no longer fit. The timeouts are short because every call the broker makes is small and AWS
answers it in milliseconds; the retries absorb a lost packet.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from botocore.retries import standard

from sellertoken import deadline

_BOTO_CONFIG = BotoConfig(
    connect_timeout=0.5,
    read_timeout=1.0,
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=50,
)
# botocore's standard mode sleeps up to base * 2**(attempt-1) s before the next attempt (at most 20 s),
# base 1 s after a throttling error, 50 ms (25 ms for DynamoDB) after others.
_MAX_BACKOFF, _THROTTLED_BASE, _OTHER_BASE = 20.0, 1.0, 0.05
_THROTTLED = standard.ThrottledRetryableChecker()
_RETRYABLE = standard.OrRetryChecker(
    [standard.TransientRetryableChecker(), _THROTTLED, standard.ModeledRetryableChecker()]
)


@functools.cache
def _session() -> boto3.session.Session:
    # One session for every client: each new session would parse botocore's model files again (about
    # 0.2 s a client). Sessions are not thread-safe, so clients are made under a lock.
    return boto3.session.Session()


_making = threading.Lock()


@functools.cache
def client(service: str, config: BotoConfig | None = None):
    """A client per (service, config): callers that must fail faster pass their own timeouts."""
    with _making:
        made = _session().client(service, config=config or _BOTO_CONFIG)
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
    # needs-retry: emitted after every attempt, before botocore sleeps its backoff. When the backoff and
    # another attempt no longer fit before the deadline, end the call as botocore would once its attempts
    # are spent: with this attempt's error.
    if attempts >= max_attempts:
        return
    context = standard.RetryContext(
        attempt_number=attempts,
        operation_model=operation,
        parsed_response=response[1] if response else None,
        http_response=response[0] if response else None,
        caught_exception=caught_exception,
        request_context=(request_dict or {}).get("context", {}),
    )
    if not _RETRYABLE.is_retryable(context):
        return
    base = _THROTTLED_BASE if _THROTTLED.is_retryable(context) else _OTHER_BASE
    if deadline.current().remaining() >= min(base * 2 ** (attempts - 1), _MAX_BACKOFF) + attempt_seconds:
        return
    if caught_exception is not None:
        raise caught_exception
    raise ClientError(response[1], getattr(operation, "name", "AWS"))
