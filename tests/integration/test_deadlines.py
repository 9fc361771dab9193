"""Every vend answers before its function's timeout with a documented errorType, whatever hangs: concurrent
cold vends for one seller through the local Lambda Invoke endpoint (which reports Sandbox.Timedout, as
Lambda does, when a handler outlives its timeout), with a short timeout, while LWA hangs or Secrets
Manager is slow; as invocations of one container (sharing its memory) and of one container each."""

from __future__ import annotations

import importlib
import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config as BotoConfig

from devstack.amazon import AmazonSimulator, new_selling_partner_id
from devstack.awscalls import acting_as
from devstack.awsserver import LocalAwsServer
from devstack.lambda_invoke import LocalLambda
from devstack.seed import function_environment, seed
from sellertoken import aws, deadline, grants, names, timestamps
from sellertoken.errors import CONTRACT
from sellertoken.lwa import LwaClient
from tests.faults.conftest import AwsFaults, Clock
from tests.faults.matrix import AwsFault
from tests.integration.conftest import APP, REDIRECT_URI

TIMEOUT_SECONDS = 3.0  # the vend function's timeout here (30 s deployed): LWA's hang costs the test that
DOCUMENTED = {cls.error_type for cls in CONTRACT}


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    """moto's server, the Amazon simulator and the functions' environment pointing at them."""
    server = LocalAwsServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    amazon = AmazonSimulator.for_app(APP, redirect_uris=[REDIRECT_URI])
    amazon.start()
    aws_url = "http://{}:{}".format(*server.get_host_and_port())
    seeded = seed(aws_url, app_credentials=APP, state_key=secrets.token_urlsafe(48))
    env = function_environment(seeded, aws_url=aws_url, amazon_url=amazon.base_url, redirect_uri=REDIRECT_URI)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield {"amazon": amazon, "kms_key": seeded.kms_key_arn}
    amazon.stop()
    server.stop()


@pytest.fixture
def seller(stack) -> str:
    """A seller with an active grant, and no token cached anywhere yet."""
    seller = new_selling_partner_id()
    amazon: AmazonSimulator = stack["amazon"]
    amazon.reset()
    code = amazon.issue_code(seller, REDIRECT_URI)
    refresh = LwaClient(amazon.base_url + "/auth/o2/token", names.DEFAULT_PREFIX).exchange_code(code, REDIRECT_URI)
    grant = grants.Grant(seller, "na", "seller", refresh.refresh_token or "", APP["client_id"], timestamps.now_iso())
    grants.save(names.DEFAULT_PREFIX, stack["kms_key"], grant)
    aws.reset()  # cold: the vends read the app secret and the grant themselves
    amazon.reset_calls()
    yield seller
    amazon.reset()  # releases the hanging requests


def one_container() -> dict[str, Callable]:
    """The real vend handler: its invocations share one container's memory (vendor())."""
    module = importlib.import_module("handlers.vend")
    module.vendor.cache_clear()
    return {names.function_name("vend"): module.handler}


def containers(count: int) -> dict[str, Callable]:
    """`count` containers, each with its own memory, meeting only in the shared DynamoDB cache and its lease."""
    module = importlib.import_module("handlers.vend")
    from sellertoken.config import get_config
    from sellertoken.vending import Vendor

    def handler_of(vendor: Vendor) -> Callable:
        def handler(event: dict, context) -> dict:
            with acting_as(names.function_name("vend")):  # a container of the vend function (the IAM check)
                return module.answer(event, lambda: vendor)

        return deadline.bounded(handler)

    return {f"sellertoken-vend-{i}": handler_of(Vendor(get_config())) for i in range(count)}


def invoke_all(
    functions: dict[str, Callable], calls: int, payload: dict, timeout: float = TIMEOUT_SECONDS
) -> list[str]:
    """`calls` concurrent invokes through the local Lambda endpoint, spread over `functions`; their outcomes."""
    endpoint = LocalLambda(functions, timeout_seconds=timeout)
    endpoint.start()
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint.base_url,
        config=BotoConfig(read_timeout=60, retries={"total_max_attempts": 1}, max_pool_connections=calls),
    )
    names_ = list(functions)
    outcomes: list[str] = [""] * calls
    start = threading.Barrier(calls)

    def call(i: int) -> None:
        start.wait()
        try:
            answer = client.invoke(FunctionName=names_[i % len(names_)], Payload=json.dumps(payload).encode())
        except Exception as error:  # noqa: BLE001 - reported as the outcome
            outcomes[i] = f"invoke failed: {error!r}"
            return
        document = json.loads(answer["Payload"].read())
        outcomes[i] = document["errorType"] if answer.get("FunctionError") else "token"

    try:
        threads = [threading.Thread(target=call, args=(i,)) for i in range(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        endpoint.stop()
    return outcomes


@pytest.mark.parametrize("calls", [3, 20])
@pytest.mark.parametrize("layout", ["one container", "a container each"])
def test_concurrent_cold_vends_while_lwa_hangs_answer_upstream_unavailable_in_time(stack, seller, calls, layout):
    # Given LWA accepts connections and never answers
    stack["amazon"].set_fault("token", hang=True)
    functions = one_container() if layout == "one container" else containers(calls)

    # When many cold vends for the seller arrive at once
    outcomes = invoke_all(functions, calls, {"selling_partner_id": seller, "region": "na"})

    # Then each answers UpstreamUnavailable within its timeout (never Sandbox.Timedout), and no waiter
    # started a second LWA call while the first one was still running
    assert Counter(outcomes) == {"UpstreamUnavailable": calls}
    assert stack["amazon"].calls()["token.refresh_token"] == 1


@pytest.mark.parametrize("calls", [3, 20])
def test_concurrent_cold_vends_while_secrets_manager_is_slow_answer_in_time(stack, seller, monkeypatch, calls):
    # Given Secrets Manager answers every call of the broker's, just within its read timeout
    faults = AwsFaults(Clock())
    monkeypatch.setattr(aws, "client", faults.wrap(aws.client))
    slow = AwsFault("secrets-manager", latency=0.8)

    # When many cold vends for the seller arrive at once, each in its own container (with time for the
    # three Secrets Manager calls of a cold vend, and the table's calls on a loaded machine: 6 s)
    with faults.injected(slow):
        outcomes = invoke_all(containers(calls), calls, {"selling_partner_id": seller, "region": "na"}, timeout=6.0)

    # Then every answer is a token or a documented errorType, none Lambda's timeout, and some got a token
    assert set(outcomes) <= {"token"} | DOCUMENTED, Counter(outcomes)
    assert "token" in outcomes, Counter(outcomes)


def test_a_vend_without_time_for_its_calls_answers_upstream_unavailable_without_calling_anything(stack, seller):
    # Given an invocation with less time left than one Secrets Manager attempt could take
    from sellertoken.config import get_config
    from sellertoken.errors import UpstreamUnavailable
    from sellertoken.vending import Vendor

    vendor = Vendor(get_config())
    answer = importlib.import_module("handlers.vend").answer

    # When it vends
    with deadline.within(0.5), pytest.raises(UpstreamUnavailable) as refused:
        answer({"selling_partner_id": seller, "region": "na"}, lambda: vendor)

    # Then it says so at once, rather than start a call it could not finish
    assert "no time left" in str(refused.value)
    assert stack["amazon"].calls()["token.refresh_token"] == 0
