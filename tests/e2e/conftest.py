"""End-to-end fixtures: the local stack as a subprocess, a real headless Chromium, boto3 clients on the
embedded AWS and a recorder of the events the stack publishes.

Nothing here touches the network beyond 127.0.0.1: the stack binds loopback only and Chromium is
started with its background services off.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, sync_playwright

from sellertoken import names

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
SUCCESS_URL = "https://app.example.test/sellers/connected"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Resolve no host name at all: everything the tests load is on 127.0.0.1 or served by the test itself.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PAGE_TIMEOUT_MS = 10_000


# --------------------------------------------------------------------------- the local stack


@dataclass
class RunningStack:
    endpoints: dict
    process: subprocess.Popen
    log_path: Path

    @property
    def api(self) -> str:
        return self.endpoints["api"]

    @property
    def amazon(self) -> str:
        return self.endpoints["amazon"]

    @property
    def vendor_central(self) -> str:
        return self.endpoints["vendor_central"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _start_stack(state_dir: Path, *extra: str, env: dict[str, str] | None = None) -> RunningStack:
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "stack.log"
    endpoints_path = state_dir / "endpoints.json"
    command = [
        sys.executable,
        "-m",
        "devstack",
        "--api-port",
        "0",
        "--aws-port",
        "0",
        "--amazon-port",
        "0",
        "--lambda-port",
        "0",
        "--vendor-central-port",
        "0",
        # Tests run sweeps themselves; a scheduled one in the middle would race them.
        "--sweep-every",
        "0",
        "--state-dir",
        str(state_dir),
        *extra,
    ]
    # Output goes to a file, never a pipe: the stack logs every request and would block on a full pipe.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    stack = RunningStack({}, process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the local stack exited with status {process.returncode} before it was ready:\n{stack.log()}",
                pytrace=False,
            )
        if endpoints_path.exists():
            try:
                stack.endpoints = json.loads(endpoints_path.read_text())
            except ValueError:  # caught mid-write: look again
                stack.endpoints = {}
            if stack.endpoints and "sellertoken local stack is ready" in stack.log():
                return stack
        time.sleep(0.05)
    _stop_stack(stack)
    pytest.fail(
        f"the local stack was not ready within {STARTUP_TIMEOUT_SECONDS:.0f} s:\n{stack.log()}",
        pytrace=False,
    )


def _stop_stack(stack: RunningStack) -> None:
    _ask_to_stop(stack)
    _wait_stopped(stack)


def _ask_to_stop(stack: RunningStack) -> None:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)


def _wait_stopped(stack: RunningStack) -> None:
    try:
        stack.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def _stacks() -> Iterator[list[RunningStack]]:
    """Every stack started this session; torn down last, so that all stacks stop in parallel."""
    started: list[RunningStack] = []
    yield started
    for running in started:
        _ask_to_stop(running)
    for running in started:
        _wait_stopped(running)


@pytest.fixture(scope="session")
def stack(_stacks: list[RunningStack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack without a success URL: /callback shows its own success page."""
    running = _start_stack(tmp_path_factory.mktemp("devstack"))
    _stacks.append(running)
    yield running
    _ask_to_stop(running)  # SIGTERM now; _stacks waits for the exit


@pytest.fixture(scope="session")
def success_stack(_stacks: list[RunningStack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A second local stack whose /callback sends the browser on to SUCCESS_URL."""
    running = _start_stack(tmp_path_factory.mktemp("devstack-success"), "--success-url", SUCCESS_URL)
    _stacks.append(running)
    yield running
    _ask_to_stop(running)


@pytest.fixture(scope="session")
def short_bound_stack(_stacks: list[RunningStack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A local stack whose functions stop serving a flagged grant's cached tokens within 2 s (not 60 s)."""
    running = _start_stack(
        tmp_path_factory.mktemp("devstack-short-bound"), env={names.ENV_REVOCATION_BOUND_SECONDS: "2"}
    )
    _stacks.append(running)
    yield running
    _ask_to_stop(running)


# --------------------------------------------------------------------------- embedded AWS


@dataclass
class RecordedEvent:
    raw: str  # the SQS message body exactly as delivered
    source: str
    detail_type: str
    detail: dict


@dataclass
class EventLog:
    """Every event that reached the recorder queue so far (the stack's rule sends all `sellertoken` events)."""

    sqs: object
    queue_url: str
    seen: list[RecordedEvent] = field(default_factory=list)

    def drain(self) -> list[RecordedEvent]:
        """Move whatever is on the queue into `seen`; returns what was new."""
        new: list[RecordedEvent] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                event = json.loads(message["Body"])
                new.append(RecordedEvent(message["Body"], event["source"], event["detail-type"], event["detail"]))
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        self.seen.extend(new)
        return new

    def of(self, selling_partner_id: str) -> list[RecordedEvent]:
        self.drain()
        return [e for e in self.seen if e.detail.get("selling_partner_id") == selling_partner_id]

    def wait_for(self, selling_partner_id: str, count: int = 1, timeout: float = 5.0) -> list[RecordedEvent]:
        """The seller's events once at least `count` arrived (they are published before /callback answers)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(selling_partner_id)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@dataclass
class Aws:
    secretsmanager: object
    sqs: object
    events: EventLog


def _connect(stack: RunningStack) -> Aws:
    endpoints = stack.endpoints
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=endpoints["region"]
    )
    config = BotoConfig(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})
    sm = session.client("secretsmanager", endpoint_url=endpoints["aws"], config=config)
    sqs = session.client("sqs", endpoint_url=endpoints["aws"], config=config)
    return Aws(sm, sqs, EventLog(sqs, endpoints["events_queue_url"]))


@pytest.fixture(scope="session")
def aws(stack: RunningStack) -> Aws:
    """Secrets Manager and the events queue of `stack`."""
    return _connect(stack)


@pytest.fixture(scope="session")
def success_aws(success_stack: RunningStack) -> Aws:
    """Secrets Manager and the events queue of `success_stack`."""
    return _connect(success_stack)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("SELLERTOKEN_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        pytest.fail(
            f"Chromium is required for the end-to-end tests and was not found at {executable}. "
            "Install it (scripts/ensure-chromium, or apt-get install chromium) or point SELLERTOKEN_CHROMIUM at it.",
            pytrace=False,
        )
    try:
        launched = playwright_driver.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure must fail the run with its reason
        pytest.fail(f"Chromium at {executable} could not be started: {exc}", pytrace=False)
    yield launched
    launched.close()


@dataclass
class Tab:
    """One page in a fresh browser context, with everything the browser saw recorded."""

    context: BrowserContext
    page: Page
    navigations: list[str] = field(default_factory=list)  # main-frame URLs, in order
    requests: list[str] = field(default_factory=list)  # every request URL, redirects included
    responses: list[Response] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    recorded = Tab(context, page)
    page.on("framenavigated", lambda frame: frame == page.main_frame and recorded.navigations.append(frame.url))
    page.on("request", lambda request: recorded.requests.append(request.url))
    page.on("response", lambda response: recorded.responses.append(response))
    page.on("console", lambda msg: msg.type == "error" and recorded.console_errors.append(msg.text))
    yield recorded
    context.close()
