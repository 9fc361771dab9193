"""C. The consent flow: how long `make run` takes to be ready, and the in-process /callback latency.

- `make run` (dependencies present) until it prints "ready", on free ports, median of several starts;
- /callback through the real oauth handler in-process, on moto's in-process mock, with the simulator on
  loopback answering at once, for a new grant (code exchange, one Sellers API call, CreateSecret, the state
  PutItem, PutEvents) and for a re-authorization of the same account (also: the stored token's LWA refresh
  and its Sellers API call, in parallel with the new token's, then PutSecretValue).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from urllib.parse import urlencode

from benchmarks import ROOT
from benchmarks.report import Row, Section
from benchmarks.stats import percentile

NAME = "consent"
TITLE = "C. Consent flow: make run to ready, /callback in-process"


def run(*, quick: bool = False) -> Section:
    starts = 2 if quick else 5
    callbacks = 30 if quick else 300
    ready = [_make_run_ready() for _ in range(starts)]
    latencies = _callback_latencies(callbacks)
    again = _callback_latencies(callbacks, reauthorize=True)
    rows = [
        Row(
            "`make run` (dependencies present) until it prints ready",
            f"median {statistics.median(ready):.2f} s, max {max(ready):.2f} s (n={starts})",
        ),
        Row(
            "/callback in-process, new grant (oauth handler, moto in-process, simulator answering at once)",
            _spread(latencies),
        ),
        Row("/callback in-process, re-authorization of the same account (identity verified)", _spread(again)),
    ]
    notes = [
        "A /callback verifies the state and cookie, consumes the state (DynamoDB conditional PutItem), exchanges "
        "the code at LWA (the simulator), looks at the new token's account (Sellers API), stores the grant "
        "(CreateSecret) and puts one event. A re-authorization also refreshes the stored token at LWA and looks at "
        "its account, in parallel with the new token's look (docs/identity.md), then writes a new version.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _make_run_ready() -> float:
    with tempfile.TemporaryDirectory() as state_dir:
        args = f"--api-port 0 --aws-port 0 --amazon-port 0 --lambda-port 0 --sweep-every 0 --state-dir {state_dir}"
        started = time.monotonic()
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"RUN_ARGS={args}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            for line in process.stdout:  # type: ignore[union-attr]
                if "ready" in line:
                    return time.monotonic() - started
            raise RuntimeError("make run ended before it was ready")
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def _spread(latencies: list[float]) -> str:
    return (
        f"p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms (n={len(latencies)})"
    )


def _callback_latencies(count: int, *, reauthorize: bool = False) -> list[float]:
    from moto import mock_aws

    from devstack.amazon import AmazonSimulator
    from devstack.seed import function_environment, seed
    from tests.integration.conftest import APP, REDIRECT_URI, Browser, new_seller

    amazon = AmazonSimulator.for_app(APP, redirect_uris=[REDIRECT_URI])
    amazon.start()
    saved = dict(os.environ)
    try:
        with mock_aws():
            seeded = seed(None, app_credentials=APP, state_key=secrets.token_urlsafe(48))
            os.environ.update(function_environment(seeded, amazon_url=amazon.base_url, redirect_uri=REDIRECT_URI))
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            _cold_start()  # a second run in this process must not reuse the first one's endpoints
            handler = importlib.import_module("handlers.oauth").handler
            times: list[float] = []
            for i in range(count + 20):
                seller = new_seller()
                with contextlib.redirect_stdout(io.StringIO()):
                    if reauthorize:  # the first consent of the seller, not timed
                        _consent(Browser(handler), amazon, seller)
                    browser = Browser(handler)
                    target = _consent(browser, amazon, seller, send=False)
                    started = time.perf_counter()
                    result = browser.get(target)
                    elapsed = time.perf_counter() - started
                if result["statusCode"] != 200:
                    raise RuntimeError(f"/callback answered {result['statusCode']}")
                if i >= 20:  # warm-up excluded
                    times.append(elapsed * 1000)
            return times
    finally:
        os.environ.clear()
        os.environ.update(saved)
        amazon.stop()


def _cold_start() -> None:
    from aws_lambda_powertools.utilities import parameters

    from sellertoken import aws, config, httpclient

    config.get_config.cache_clear()
    aws.reset()
    httpclient.reset()
    parameters.clear_caches()


def _consent(browser, amazon, seller: str, *, send: bool = True):
    """/authorize, then a code for `seller`; returns the /callback target, or its answer when `send`."""
    from tests.integration.conftest import REDIRECT_URI

    consent = browser.start()
    code = amazon.issue_code(seller, REDIRECT_URI)
    target = "/callback?" + urlencode(
        {"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code}
    )
    if not send:
        return target
    result = browser.get(target)
    if result["statusCode"] != 200:
        raise RuntimeError(f"/callback answered {result['statusCode']}")
    return result
