"""LWA's 429 when the fleet's budget handles it (LwaClient(retry_throttled=False)): raised at once, with LWA's
Retry-After, for the budget to pause every container (budget.py) rather than urllib3 retrying in one."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sellertoken import names
from sellertoken.errors import UpstreamUnavailable
from sellertoken.lwa import LwaClient, LwaThrottled
from tests.unit.test_lwa import REFRESH_TOKEN, moto_secretsmanager, secretsmanager  # noqa: F401 - fixtures


class ThrottlingLwa:
    """Answers every POST 429 with the Retry-After header it is given (None: none), counting requests."""

    def __init__(self) -> None:
        self.retry_after: str | None = None
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                body = b'{"error":"server_error","error_description":"Rate exceeded."}'
                self.send_response(429)
                if server.retry_after is not None:
                    self.send_header("Retry-After", server.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/auth/o2/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def throttling_server():
    server = ThrottlingLwa()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def throttling(throttling_server, secretsmanager):  # noqa: F811 - the fixture imported above
    throttling_server.requests = 0
    return throttling_server


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), (None, None), ("soon", None), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
    ids=["seconds", "zero", "absent", "unreadable", "a date gone by"],
)
def test_a_429_is_raised_at_once_with_lwas_retry_after(throttling, header, seconds):
    throttling.retry_after = header
    lwa = LwaClient(throttling.endpoint, names.DEFAULT_PREFIX, retry_throttled=False)

    with pytest.raises(LwaThrottled) as throttled:
        lwa.refresh(REFRESH_TOKEN)

    assert throttled.value.retry_after == seconds and throttling.requests == 1
    assert isinstance(throttled.value, UpstreamUnavailable)  # what a caller sees, whatever handles it


def test_without_the_budget_a_429_is_still_retried_before_it_is_raised(throttling):
    throttling.retry_after = "7"
    lwa = LwaClient(throttling.endpoint, names.DEFAULT_PREFIX)

    with pytest.raises(LwaThrottled):
        lwa.refresh(REFRESH_TOKEN)

    assert throttling.requests == 4  # urllib3: the request and three retries, Retry-After not honoured
