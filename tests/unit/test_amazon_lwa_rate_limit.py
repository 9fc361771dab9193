"""The simulated LWA's rate limit (devstack/amazon/lwa.py RateLimit): a token bucket over every token request,
429 above it, set and lifted through /_control/lwa-rate-limit or AmazonSimulator.set_lwa_rate_limit."""

from __future__ import annotations

import pytest
import requests

from devstack.amazon import AmazonSimulator
from devstack.testapp import REDIRECT_URI, TEST_APP, Clock, running_simulator

APP = TEST_APP


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(1_900_000_000.0)


@pytest.fixture(scope="module")
def running(clock):
    with running_simulator(APP, redirect_uris=[REDIRECT_URI], clock=clock) as simulator:
        yield simulator


@pytest.fixture
def amazon(running):
    running.reset()
    yield running
    running.reset()


def refresh(amazon: AmazonSimulator, refresh_token: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **APP}
    return requests.post(f"{amazon.base_url}/auth/o2/token", data=form, timeout=5)


def granted(amazon: AmazonSimulator) -> str:
    code = amazon.issue_code("A3FHEXAMPLEYWS", REDIRECT_URI)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **APP}
    return requests.post(f"{amazon.base_url}/auth/o2/token", data=form, timeout=5).json()["refresh_token"]


def test_requests_above_the_limit_get_lwas_429_and_are_counted(amazon):
    # Given LWA limited to 2 requests a second (burst 2) and a grant
    token = granted(amazon)
    amazon.set_lwa_rate_limit(2)
    amazon.reset_calls()

    # When three refreshes come in the same instant
    answers = [refresh(amazon, token) for _ in range(3)]

    # Then two are served and the third gets 429 with LWA's error body, counted as throttled and as an error
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "server_error" and "Retry-After" not in answers[2].headers
    assert {k: amazon.calls()[k] for k in ("token.refresh_token", "token.throttled", "token.error")} == {
        "token.refresh_token": 3,
        "token.throttled": 1,
        "token.error": 1,
    }


def test_the_bucket_refills_at_the_rate(amazon, clock):
    token = granted(amazon)
    amazon.set_lwa_rate_limit(2, burst=1)
    assert [refresh(amazon, token).status_code for _ in range(2)] == [200, 429]

    clock.now += 0.5  # one request's worth at 2 per second

    assert [refresh(amazon, token).status_code for _ in range(2)] == [200, 429]


def test_retry_after_says_when_the_next_request_would_pass_when_asked_for(amazon, clock):
    token = granted(amazon)
    amazon.set_lwa_rate_limit(0.25, burst=1, retry_after=True)  # one request every 4 s
    refresh(amazon, token)
    clock.now += 1

    throttled = refresh(amazon, token)

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"


def test_the_control_api_sets_shows_and_lifts_the_limit(amazon):
    control = f"{amazon.base_url}/_control/lwa-rate-limit"
    token = granted(amazon)

    set_ = requests.post(control, json={"per_second": 20, "burst": 1, "retry_after": True}, timeout=5)
    shown = requests.get(control, timeout=5).json()
    limited = [refresh(amazon, token).status_code for _ in range(2)]
    lifted = requests.post(control, json={"per_second": None}, timeout=5)

    assert set_.status_code == 200 and shown == {"per_second": 20.0, "burst": 1, "retry_after": True}
    assert limited == [200, 429]
    assert lifted.json() == {"per_second": None} and refresh(amazon, token).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"per_second": 0}, {"per_second": "fast"}, {"per_second": 5, "burst": 0}, {"per_second": 5, "retry_after": 1},
     {"per_second": 5, "window": 3}],
)  # fmt: skip
def test_a_malformed_limit_is_refused_and_changes_nothing(amazon, body):
    answer = requests.post(f"{amazon.base_url}/_control/lwa-rate-limit", json=body, timeout=5)

    assert answer.status_code == 400 and answer.json()["error"]
    assert amazon.world.lwa_rate_limit is None


def test_reset_lifts_the_limit(amazon):
    amazon.set_lwa_rate_limit(1)

    amazon.reset()

    assert amazon.world.lwa_rate_limit is None
