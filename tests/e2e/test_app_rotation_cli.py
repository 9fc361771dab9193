"""The client-secret rotation journey on the local stack, through the CLI: `make run` registers the notification
queue, the clock control walks Amazon's time, the rotation happens by itself, vends never fail, and an operator
reads the state and rotates or stores a secret without ever seeing one.

A stack of its own: walking Amazon's clock ages every token the shared stack's simulator issued."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import RunningStack, _start_stack
from tests.e2e.flows import authorize_over_http
from tests.e2e.test_cli import CLI

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rotating(_stacks, tmp_path_factory) -> RunningStack:
    running = _start_stack(tmp_path_factory.mktemp("devstack-rotation"))
    _stacks.append(running)
    return running


def cli(stack: RunningStack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    where = ("--endpoints", str(stack.log_path.parent / "endpoints.json"))
    return subprocess.run([CLI, *args, *where], capture_output=True, text=True, timeout=60, input=stdin)


def status(stack: RunningStack) -> dict:
    shown = cli(stack, "app", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def advance(stack: RunningStack, days: float) -> list[str]:
    answer = requests.post(f"{stack.amazon}/_control/clock", json={"advance_days": days}, timeout=10)
    answer.raise_for_status()
    return answer.json()["notifications"]


def wait_rotated(stack: RunningStack, previous_rotated_at: str | None, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = status(stack)
        if now["rotation"]["state"] == "rotated" and now["secret"]["rotated_at"] != previous_rotated_at:
            return now
        time.sleep(0.3)
    pytest.fail(f"no rotation within {timeout:.0f} s:\n{stack.log()[-3000:]}")


def test_the_secret_rotates_by_itself_as_amazons_clock_walks_and_no_vend_fails(rotating):
    before = authorize_over_http(rotating)
    fresh = status(rotating)
    assert fresh["queue"]["url"] == rotating.endpoints["notification_queue_url"]
    assert fresh["secret"]["expiry"].startswith("estimated") and fresh["rotation"]["state"] == "not_requested"

    assert advance(rotating, 91) == ["APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"]
    rotated = wait_rotated(rotating, None)

    assert rotated["secret"]["expiry"] == "known" and rotated["secret"]["rotated_by"] == "amazon"
    assert rotated["previous_secret"]["valid"] is True
    assert rotated["queue"]["registration"].startswith("registered")
    assert cli(rotating, "vend", before, "--region", "na").returncode == 0  # inside the overlap

    advance(rotating, 8)  # the old secret's 7 days are over: LWA refuses it from now on
    after = authorize_over_http(rotating)  # a code exchange, with whatever secret the oauth function holds
    vended = cli(rotating, "vend", after, "--region", "na")

    assert vended.returncode == 0, vended.stderr
    assert status(rotating)["previous_secret"]["valid"] is False
    events = [json.loads(line) for line in cli(rotating, "events").stdout.splitlines()]
    assert [e["detail"]["rotated_by"] for e in events if e["detail-type"] == "App Credentials Rotated"] == ["amazon"]


def test_an_operator_rotates_now_and_reads_the_outcome_without_seeing_a_secret(rotating):
    previous = status(rotating)["secret"]["rotated_at"]
    advance(rotating, 1)  # at least a minute after any earlier rotation, in Amazon's time

    rotated = cli(rotating, "app", "rotate")
    table = cli(rotating, "app", "status")

    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["outcome"] == "requested"
    assert wait_rotated(rotating, previous)["secret"]["rotated_by"] == "amazon"
    assert table.returncode == 0 and "secret expires" in table.stdout and "amzn1.oa2-cs" not in table.stdout


def test_set_secret_reads_standard_input_and_refuses_a_secret_lwa_does_not_accept(rotating):
    wrong = "amzn1.oa2-cs.v1." + "0" * 64

    refused = cli(rotating, "app", "set-secret", stdin=wrong + "\n")
    empty = cli(rotating, "app", "set-secret", stdin="")

    assert refused.returncode == 3 and "InvalidRequest" in refused.stderr and "LWA does not accept" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr
    assert empty.returncode == 2 and "no client secret" in empty.stderr


def test_the_secret_is_never_an_argument():
    helped = subprocess.run([CLI, "app", "set-secret", "--help"], capture_output=True, text=True, timeout=30)
    given = subprocess.run([CLI, "app", "set-secret", "amzn1.oa2-cs.v1.x"], capture_output=True, text=True, timeout=30)

    assert "standard input" in helped.stdout
    assert given.returncode == 2 and "unrecognized arguments" in given.stderr


def test_the_stack_log_never_shows_a_client_secret(rotating):
    secrets_file = Path(rotating.log_path)

    assert "amzn1.oa2-cs.v1." not in secrets_file.read_text(errors="replace")
