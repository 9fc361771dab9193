"""A rotation under load: containers in processes of their own vend without pause while the simulator's clock
walks the app's secret through two rotations and past both overlaps, and a sweep runs in the middle
(benchmarks/rotation.py runs the same walk at full size and reports its figures in BENCHMARKS.md)."""

from __future__ import annotations

import pytest
import requests

from benchmarks import rotation
from benchmarks.world import World


@pytest.fixture
def world(monkeypatch):
    with World() as started:
        for key, value in started.env.items():
            monkeypatch.setenv(key, value)
        yield started
        # moto's backends are process-wide: leave none of this world to the next test's server
        requests.post(f"{started.aws_url}/moto-api/reset", timeout=10).raise_for_status()


def test_two_rotations_under_load_fail_no_vend_flag_no_seller_and_leave_the_sweep_clean(world):
    walked = rotation.walk(world, sellers=6, processes=2, threads=3, max_age=2.0, hold=2.5)

    assert sum(walked.vends.values()) > 100 and set(walked.vends) == {"access", "grantless"}
    assert dict(walked.failures) == {}
    assert walked.revoked == 0
    assert walked.rotations_stored == 2 and walked.lwa["applications.rotateApplicationClientSecret"] == 2
    assert walked.sweep["outcome"] == "completed" and walked.sweep["counts"].get("revoked", 0) == 0
    assert walked.lwa["token.replaced_secret"] > 0  # the containers did use the old secret during an overlap
