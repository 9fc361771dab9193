"""The invocation's deadline: how it is set, and how AWS calls keep to it (botocore's own events)."""

from __future__ import annotations

import math

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from devstack.lambda_context import LocalLambdaContext
from sellertoken import aws, deadline
from sellertoken.errors import UpstreamUnavailable
from tests.faults.conftest import Clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    skewed = Clock()
    monkeypatch.setattr(deadline, "clock", skewed)
    monkeypatch.setattr(deadline, "pause", skewed.advance)
    return skewed


def test_outside_an_invocation_there_is_no_deadline():
    assert math.isinf(deadline.current().remaining())


def test_a_deadline_keeps_a_tenth_of_the_time_in_reserve_at_most_a_second(clock):
    with deadline.within(2.0) as short:
        assert 1.79 < short.remaining() <= 1.8
    with deadline.within(30.0) as deployed:
        assert 28.99 < deployed.remaining() <= 29.0


def test_leaving_ends_the_inner_work_earlier_and_restores_the_deadline(clock):
    with deadline.within(10.0) as outer:
        with deadline.leaving(2.0) as inner:
            assert inner.at == outer.at - 2.0 and deadline.current() is inner
        assert deadline.current() is outer
    assert math.isinf(deadline.current().remaining())


def test_a_handler_runs_within_its_contexts_remaining_time(clock):
    seen = []
    handler = deadline.bounded(lambda event, context: seen.append(deadline.current().remaining()))

    handler({}, LocalLambdaContext("f", timeout_seconds=5.0))

    assert 4.4 < seen[0] <= 4.5 and math.isinf(deadline.current().remaining())


def test_work_that_cannot_finish_in_time_is_refused(clock):
    with deadline.within(1.0), pytest.raises(UpstreamUnavailable, match="no time left"):
        deadline.current().require(1.5, "call GetSecretValue")


@pytest.fixture
def secretsmanager(clock):
    """The broker's Secrets Manager client on moto, with `hangs` attempts that time out (the clock moves on
    by the client's read timeout instead of the test waiting) and a count of the attempts made."""
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="s", SecretString="v")
        client = aws.client("secretsmanager")
        state = {"attempts": 0, "hang": False}

        def attempt(request, **_):
            state["attempts"] += 1
            if state["hang"]:
                clock.advance(client.meta.config.read_timeout)
                raise ReadTimeoutError(endpoint_url=request.url)

        client.meta.events.register_first("before-send", attempt)
        yield client, state


def test_an_aws_call_is_not_started_without_time_for_one_attempt(secretsmanager):
    client, state = secretsmanager

    with deadline.within(1.0), pytest.raises(UpstreamUnavailable, match="GetSecretValue"):
        client.get_secret_value(SecretId="s")

    assert state["attempts"] == 0


def test_a_hanging_aws_call_is_retried_while_time_allows_then_fails_as_when_attempts_are_spent(secretsmanager):
    client, state = secretsmanager
    state["hang"] = True

    # 3 s (2.7 s after the reserve): a 1 s hang, a retry that fits (1.5 s attempt), a second hang; no time for a third
    with deadline.within(3.0), pytest.raises(ReadTimeoutError):
        client.get_secret_value(SecretId="s")

    assert state["attempts"] == 2


def test_without_a_deadline_botocore_makes_all_its_attempts(secretsmanager):
    client, state = secretsmanager
    state["hang"] = True

    with pytest.raises(ReadTimeoutError):
        client.get_secret_value(SecretId="s")

    assert state["attempts"] == 3
