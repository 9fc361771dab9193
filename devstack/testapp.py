"""The made-up application the tests and the benchmarks run the broker for: its credentials (seeded into the app
secret and given to the Amazon simulator), its redirect URI, a clock they set by hand, and a running simulator.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from devstack.amazon import AmazonSimulator

# Shaped like Amazon's (an LWA client id, a client secret, an SP-API application id): the broker checks shapes.
TEST_APP = {
    "client_id": "amzn1.application-oa2-client.test" + "0" * 24,
    "client_secret": "amzn1.oa2-cs.v1." + "s3cr3t" * 8,
    "application_id": "amzn1.sp.solution.test-app",
}
REDIRECT_URI = "https://broker.example.test/callback"
LOGIN_URI = "https://broker.example.test/login"


class Clock:
    """Time as the simulator sees it (epoch seconds), moved by the test."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def running_simulator(app: Mapping[str, str] = TEST_APP, **options: Any) -> Iterator[AmazonSimulator]:
    """The Amazon simulator for `app` on a free loopback port, stopped on leaving (options: AmazonSimulator's)."""
    simulator = AmazonSimulator.for_app(app, **options)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
