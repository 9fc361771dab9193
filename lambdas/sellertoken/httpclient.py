"""HTTP sessions for Amazon (LWA and SP-API): pooled, with urllib3 retries on 429, 5xx and connection
errors only. Read timeouts are retried only where the request is idempotent in effect.

Every attempt and every wait is bounded by the invocation's deadline (deadline.py): an attempt's
connect and read timeouts never reach past it, a wait that would (the backoff, or the Retry-After a
throttled answer names, whichever is longer) is not slept, and no attempt starts with less than
MIN_ATTEMPT_SECONDS left.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

if TYPE_CHECKING:
    import requests

from sellertoken import deadline

CONNECT_SECONDS, READ_SECONDS = 2.0, 5.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Less than this left is not worth an attempt: LWA and SP-API usually answer in 0.1-0.5 s.
MIN_ATTEMPT_SECONDS = 0.5


class DeadlineTimeout(Timeout):
    """Connect 2 s, read 5 s, and never past the deadline: urllib3 clones the timeout for every
    attempt (retries included), so each attempt gets what is left at its start as its total."""

    def __init__(self) -> None:
        super().__init__(connect=CONNECT_SECONDS, read=READ_SECONDS)

    def clone(self) -> Timeout:
        left = deadline.current().remaining()
        total = None if left == float("inf") else max(left, 0.001)
        return Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS, total=total)


class DeadlineRetry(Retry):
    """urllib3's Retry, except that it gives up when the wait and another attempt do not fit before the
    deadline (then the caller sees the last answer or error, as when the retries are spent)."""

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> Retry:
        following = super().increment(method, url, *args, **kwargs)
        if deadline.current().remaining() - following.wait(kwargs.get("response")) < MIN_ATTEMPT_SECONDS:
            reason = kwargs.get("error") or ResponseError("no time left before the deadline for another attempt")
            raise MaxRetryError(kwargs.get("_pool"), url or "", reason)
        return following

    def wait(self, response: Any = None) -> float:
        """The backoff, or the Retry-After of a throttled answer when that is longer."""
        try:
            after = self.get_retry_after(response) if response is not None else None
        except InvalidHeader:  # a date or a number urllib3 cannot read: the backoff alone
            after = None
        return max(self.get_backoff_time(), after or 0.0)

    def sleep(self, response: Any = None) -> None:
        deadline.pause(self.wait(response))  # through deadline.pause like every wait


def timeout() -> Timeout:
    """The timeout to pass on every request to Amazon; refuses when no attempt fits before the deadline."""
    deadline.current().require(MIN_ATTEMPT_SECONDS, "call Amazon")
    return DeadlineTimeout()


@functools.cache
def session(*, retry_reads: bool, retry_statuses: bool = True, retry_throttled: bool = True) -> requests.Session:
    """`retry_statuses=False` for a request that must not be repeated once Amazon answered it (a rotation);
    `retry_throttled=False` leaves a 429 to the caller (the fleet's LWA budget pauses every container)."""
    # requests loads with the first call to Amazon, not at cold start: most invocations answer from a cache.
    import requests
    from requests.adapters import HTTPAdapter

    retry = DeadlineRetry(
        total=3,
        connect=3,
        read=3 if retry_reads else 0,
        status=3 if retry_statuses else 0,
        other=0,
        backoff_factor=0.2,
        backoff_max=2.0,
        status_forcelist=_retried_statuses(retry_statuses, retry_throttled),
        allowed_methods=frozenset({"GET", "POST"}),
        raise_on_status=False,
        respect_retry_after_header=False,  # DeadlineRetry.wait honours it, within the deadline
    )
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=50)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def reset() -> None:
    session.cache_clear()


def _retried_statuses(retry_statuses: bool, retry_throttled: bool) -> tuple[int, ...]:
    if not retry_statuses:
        return ()
    return RETRY_STATUSES if retry_throttled else tuple(s for s in RETRY_STATUSES if s != 429)
