"""LWA's 429 when the fleet's budget handles it (LwaClient(retry_throttled=False)): raised at once, with LWA's
Retry-After, for the budget to pause every container (budget.py) rather than urllib3 retrying in one."""

from __future__ import annotations

import pytest

from sellertoken import names
from sellertoken.errors import UpstreamUnavailable
from sellertoken.lwa import LwaClient, LwaThrottled
from tests.unit.test_lwa import (  # noqa: F401 - fixtures
    REFRESH_TOKEN,
    CraftedLwa,
    crafted_server,
    moto_secretsmanager,
    secretsmanager,
)

RATE_EXCEEDED = {"error": "server_error", "error_description": "Rate exceeded."}


def throttle(lwa: CraftedLwa, retry_after: str | None) -> CraftedLwa:
    """LWA answers every request 429, with this Retry-After header (None: none)."""
    lwa.answer(RATE_EXCEEDED, 429, {} if retry_after is None else {"Retry-After": retry_after})
    return lwa


@pytest.fixture
def throttling(crafted_server, secretsmanager):  # noqa: F811 - the fixtures imported above
    return crafted_server


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), (None, None), ("soon", None), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
    ids=["seconds", "zero", "absent", "unreadable", "a date gone by"],
)
def test_a_429_is_raised_at_once_with_lwas_retry_after(throttling, header, seconds):
    throttle(throttling, header)
    lwa = LwaClient(throttling.endpoint, names.DEFAULT_PREFIX, retry_throttled=False)

    with pytest.raises(LwaThrottled) as throttled:
        lwa.refresh(REFRESH_TOKEN)

    assert throttled.value.retry_after == seconds and throttling.requests == 1
    assert isinstance(throttled.value, UpstreamUnavailable)  # what a caller sees, whatever handles it


def test_without_the_budget_a_429_is_still_retried_before_it_is_raised(throttling):
    throttle(throttling, "7")
    lwa = LwaClient(throttling.endpoint, names.DEFAULT_PREFIX)

    with pytest.raises(LwaThrottled):
        lwa.refresh(REFRESH_TOKEN)

    assert throttling.requests == 4  # urllib3: the request and three retries, Retry-After not honoured
