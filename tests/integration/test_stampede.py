"""A cold grant hit by 100 concurrent vends from 4 processes (4 containers) costs one LWA refresh."""

from __future__ import annotations

import multiprocessing
import os
import secrets

import pytest

from devstack.amazon import AmazonSimulator
from devstack.awsserver import LocalAwsServer
from devstack.seed import function_environment, seed
from sellertoken import grants, names, timestamps
from tests.integration.conftest import APP, REDIRECT_URI

PROCESSES, THREADS = 4, 25


def container(env: dict[str, str], seller: str, start, results) -> None:
    """One Lambda container: its own memory cache, 25 concurrent invocations."""
    os.environ.update(env)
    import threading

    from sellertoken.config import get_config
    from sellertoken.vending import Vendor, parse_request

    vendor = Vendor(get_config())
    request = parse_request({"selling_partner_id": seller, "region": "na"})
    tokens: list[str] = []

    def one() -> None:
        start.wait()
        tokens.append(vendor.vend(request)["access_token"])

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(tokens)


@pytest.fixture
def servers():
    aws = LocalAwsServer(ip_address="127.0.0.1", port=0, verbose=False)
    aws.start()
    amazon = AmazonSimulator.for_app(APP, redirect_uris=[REDIRECT_URI])
    amazon.start()
    yield "http://{}:{}".format(*aws.get_host_and_port()), amazon
    amazon.stop()
    aws.stop()


def test_a_hundred_concurrent_vends_from_four_containers_make_one_lwa_call(servers, monkeypatch):
    aws_url, amazon = servers
    seeded = seed(aws_url, app_credentials=APP, state_key=secrets.token_urlsafe(48))
    env = function_environment(seeded, aws_url=aws_url, amazon_url=amazon.base_url, redirect_uri=REDIRECT_URI)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seller = "A" + secrets.token_hex(7).upper()[:13]
    code = amazon.issue_code(seller, REDIRECT_URI)
    from sellertoken.lwa import LwaClient

    refresh_token = (
        LwaClient(env[names.ENV_LWA_ENDPOINT], names.DEFAULT_PREFIX).exchange_code(code, REDIRECT_URI).refresh_token
    )
    grants.save(
        names.DEFAULT_PREFIX,
        seeded.kms_key_arn,
        grants.Grant(seller, "na", "seller", refresh_token, APP["client_id"], timestamps.now_iso()),
    )
    amazon.reset_calls()
    amazon.set_fault("token", latency_ms=100)  # a realistic LWA round trip widens the race
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Event(), spawn.Queue()
    workers = [
        spawn.Process(target=container, args=(dict(os.environ), seller, start, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()

    start.set()
    tokens = [token for _ in workers for token in results.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=30)

    assert len(tokens) == PROCESSES * THREADS
    assert len(set(tokens)) == 1
    assert amazon.calls()["token.refresh_token"] == 1
