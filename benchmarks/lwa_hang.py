"""A7. Concurrent cold vends of one grant while LWA hangs, with the deployed 30 s timeout: which answer each
invocation gets and how long it waits for it, through the local Lambda Invoke endpoint (devstack's, which
answers Sandbox.Timedout for a handler that outlives its timeout, as Lambda does).

- one container: the real vend handler; concurrent invocations share its memory, as on the local stack.
- a container each: one `Vendor` per function name, meeting only in DynamoDB (shared cache, refresh lease),
  as separate Lambda containers do.

LWA accepts each connection and never answers (the simulator's `hang`); the invocations are released
together from a barrier in one process (spawn), moto's server and the simulator run in the orchestrator.
"""

from __future__ import annotations

from collections import Counter

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import p50, secs
from benchmarks.world import World
from sellertoken import names

NAME = "lwa_hang"
TITLE = "A7. Concurrent cold vends of one grant while LWA hangs (30 s function timeout)"
TIMEOUT_SECONDS = 30.0  # infra/vending.py
LAYOUTS = ("one container", "a container each")


def run(*, quick: bool = False, sizes: tuple[int, ...] = (3, 20), timeout: float | None = None) -> Section:
    timeout = timeout or (6.0 if quick else TIMEOUT_SECONDS)
    rows: list[Row] = []
    with World() as world:
        for layout in LAYOUTS:
            for calls in sizes:
                ((seller, _),) = world.create_grants(1)
                before = world.lwa_refreshes()
                world.amazon.set_fault("token", hang=True)
                try:
                    args = (seller, layout, calls, timeout)
                    answers = child.run_one(_invocations, world.env, *args, timeout=3 * timeout)
                finally:
                    world.amazon.set_fault("token")  # releases the requests still hanging
                rows += _rows(layout, calls, timeout, answers, world.lwa_refreshes() - before)
    notes = [
        f"Function timeout {timeout:g} s; the handler keeps a reserve of min(1 s, a tenth) to answer. "
        "Time to answer = from the barrier's release to the invoke's answer, per invocation.",
        "The first holder of the refresh lease tries LWA 4 times (urllib3: read timeout 5 s, backoff 0, 0.4, "
        "0.8 s) and answers after about 21 s; waiters wait for it, never starting a second refresh while it runs, "
        "then one of them holds the lease with what it has left (a bounded second try, as LWA may be back), the "
        "others answer when their own deadline leaves no time to read the shared cache (1.5 s before it).",
        "Before this change (commit ca1f19e, the same scenarios through its local Lambda endpoint): one container, "
        "3 vends: UpstreamUnavailable at 21.9 s and 30.0 s, Sandbox.Timedout at 30 s, LWA got 12 requests; 20 vends: "
        "1 UpstreamUnavailable at 23.1 s, 16 Sandbox.Timedout at 30-31.5 s, 3 connections dropped by the endpoint "
        "(listen backlog 5), 32 LWA requests. A container each, 3 vends: UpstreamUnavailable at 21.5 s and 29.3 s, "
        "Sandbox.Timedout at 30 s; 20 vends: 2 UpstreamUnavailable, 15 Sandbox.Timedout, 3 dropped, 68 LWA requests "
        "(each waiter gave up after ~10 s and started its own refresh).",
    ]
    return Section(NAME, TITLE, rows, notes)


def _rows(layout: str, calls: int, timeout: float, answers: list[tuple[float, str]], lwa: int) -> list[Row]:
    outcomes = Counter(outcome for _, outcome in answers)
    waits = [seconds for seconds, _ in answers]
    documented = "Sandbox.Timedout" not in outcomes and all(not o.startswith("invoke failed") for o in outcomes)
    shown = ", ".join(f"{n} {outcome}" for outcome, n in outcomes.most_common())
    return [
        Row(f"{calls} concurrent, {layout}: answers", shown, "every one a documented errorType", documented),
        Row(
            f"{calls} concurrent, {layout}: time to answer",
            f"min {secs(min(waits))}, p50 {secs(p50(waits))}, max {secs(max(waits))}",
            f"max < {timeout:g} s",
            max(waits) < timeout,
        ),
        Row(f"{calls} concurrent, {layout}: requests LWA got (each attempt counts)", str(lwa)),
    ]


def _invocations(seller: str, layout: str, calls: int, timeout: float) -> list[tuple[float, str]]:
    import json
    import threading
    import time

    import boto3
    from botocore.config import Config as BotoConfig

    from devstack.lambda_invoke import LocalLambda
    from handlers import vend
    from sellertoken import deadline
    from sellertoken.config import get_config
    from sellertoken.vending import Vendor

    def container(vendor: Vendor):
        return deadline.bounded(lambda event, context: vend.answer(event, lambda: vendor))

    if layout == "one container":
        functions = {names.function_name("vend"): vend.handler}
    else:
        functions = {f"sellertoken-vend-{i}": container(Vendor(get_config())) for i in range(calls)}
    endpoint = LocalLambda(functions, timeout_seconds=timeout)
    endpoint.start()
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint.base_url,
        region_name="us-east-1",
        config=BotoConfig(read_timeout=timeout + 30, retries={"total_max_attempts": 1}, max_pool_connections=calls),
    )
    payload = json.dumps({"selling_partner_id": seller, "region": "na"}).encode()
    function_names = list(functions)
    answers: list[tuple[float, str]] = [(0.0, "no answer")] * calls
    barrier = threading.Barrier(calls + 1)
    released: list[float] = []

    def invoke(i: int) -> None:
        barrier.wait()
        try:
            answer = client.invoke(FunctionName=function_names[i % len(function_names)], Payload=payload)
            document = json.loads(answer["Payload"].read())
            outcome = document["errorType"] if answer.get("FunctionError") else "token"
        except Exception as exc:  # noqa: BLE001 - reported as the outcome
            outcome = f"invoke failed ({type(exc).__name__})"
        answers[i] = (time.monotonic() - released[0], outcome)

    threads = [threading.Thread(target=invoke, args=(i,), daemon=True) for i in range(calls)]
    for thread in threads:
        thread.start()
    released.append(time.monotonic())
    barrier.wait()
    for thread in threads:
        thread.join(timeout + 60)
    endpoint.stop()
    return answers
