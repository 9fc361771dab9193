"""The time an invocation has left to answer, set once per invocation from the Lambda context.

It travels in a context variable, so that the HTTP calls to Amazon (httpclient.py), the AWS calls
(aws.py) and the refresh-lease wait (vending.py) size their timeouts and retries from it without every
signature passing it along. Outside an invocation (CLI, benchmarks, most tests) there is no deadline.
"""

from __future__ import annotations

import contextvars
import functools
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sellertoken.errors import UpstreamUnavailable

# Kept back from the function's timeout to raise, log and send the answer: a tenth of the time, at most
# a second (20 waiters of one container waking together at their deadline took up to 0.5 s to answer).
RESERVE_SECONDS = 1.0
RESERVE_FRACTION = 0.1
# What "now" is for deadlines, and how a backoff waits: tests advance the clock instead of waiting.
clock = time.monotonic
pause = time.sleep


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """The monotonic instant by which the handler must have returned (math.inf: none)."""

    at: float = math.inf

    def remaining(self) -> float:
        return self.at - clock()

    def require(self, seconds: float, what: str) -> None:
        """Refuse to start `what` unless it can finish in time: a call that cannot finish helps nobody."""
        if self.remaining() < seconds:
            raise UpstreamUnavailable(f"no time left before the function's deadline to {what}")


NONE = Deadline()
_current: contextvars.ContextVar[Deadline] = contextvars.ContextVar("sellertoken_deadline", default=NONE)


def current() -> Deadline:
    return _current.get()


def within(seconds: float) -> AbstractContextManager[Deadline]:
    """Everything inside must be done `seconds` from now (less the reserve)."""
    reserve = min(RESERVE_SECONDS, RESERVE_FRACTION * seconds)
    return _scoped(Deadline(clock() + seconds - reserve))


def leaving(seconds: float) -> AbstractContextManager[Deadline]:
    """Everything inside must end `seconds` before the current deadline: time kept for what follows."""
    return _scoped(Deadline(current().at - seconds))


@contextmanager
def _scoped(limit: Deadline) -> Iterator[Deadline]:
    token = _current.set(limit)
    try:
        yield limit
    finally:
        _current.reset(token)


def of_invocation(context: HasRemainingTime) -> AbstractContextManager[Deadline]:
    """The invocation's deadline, from what the Lambda context says is left."""
    return within(context.get_remaining_time_in_millis() / 1000)


Handler = TypeVar("Handler", bound=Callable[..., Any])


def bounded(handler: Handler) -> Handler:
    """Decorates a Lambda handler `(event, context)`: it runs within its invocation's deadline."""

    @functools.wraps(handler)
    def run(event: Any, context: HasRemainingTime) -> Any:
        with of_invocation(context):
            return handler(event, context)

    return run  # type: ignore[return-value]
