"""A throttled answer's Retry-After is honoured by the retries to Amazon, but never past the deadline."""

from __future__ import annotations

import pytest
from urllib3 import HTTPResponse

from sellertoken.httpclient import DeadlineRetry


def throttled(retry_after: str | None) -> HTTPResponse:
    return HTTPResponse(status=429, headers={"Retry-After": retry_after} if retry_after is not None else {})


@pytest.mark.parametrize(
    ("header", "least"),
    [("3", 3.0), (None, 0.0), ("soon", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
    ids=["seconds", "none", "unreadable", "a date long past"],
)
def test_the_wait_is_the_retry_after_when_amazon_names_a_longer_one_than_the_backoff(header, least):
    retry = DeadlineRetry(total=3, backoff_factor=0.2, backoff_max=2.0)

    wait = retry.wait(throttled(header))

    assert wait == max(least, retry.get_backoff_time())
