"""The fault matrix's world: one moto world and one Amazon simulator for the module, a fresh prefix (app
secret, state key, grants) for every cell, faults injected into Amazon through the simulator's switches
and into AWS through botocore's own event system, on the clients the broker creates (sellertoken.aws):

- an error answer: a `before-call` handler returns the prepared (HTTP response, parsed error) pair, as
  botocore's Stubber does, so moto never runs the call (and never writes);
- slow: a `before-send` handler sleeps, then moto answers;
- hang: a `before-send` handler raises botocore's ReadTimeoutError, which is what a server that never
  answers gives after the client's read timeout, and advances the deadline clock (deadline.clock) by that
  timeout instead of sleeping it, so the deadline logic sees the time pass and the test does not wait.

Backoffs between LWA and SP-API attempts and waits for an LWA slot (deadline.pause) advance the same clock.
Only a hanging Amazon (the simulator holds the request) is waited for for real, under a short function
timeout.
"""

from __future__ import annotations

import functools
import importlib
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from devstack.amazon import AmazonSimulator, new_selling_partner_id
from devstack.apigw import build_event
from devstack.lambda_context import LocalLambdaContext
from devstack.seed import Seeded, clients, function_environment, seed
from sellertoken import aws, budget, deadline, grants, names, timestamps
from sellertoken.lwa import LwaClient
from tests.faults.matrix import AwsFault, Fault
from tests.integration.conftest import APP, REDIRECT_URI

SWEEP_MARGIN_SECONDS = 4  # what the sweep keeps back from a hanging LWA to record and report (on a loaded machine)
ORDERS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]
NOTIFICATIONS = "sellingpartnerapi::notifications"


@pytest.fixture(scope="module")
def amazon() -> Iterator[AmazonSimulator]:
    simulator = AmazonSimulator.for_app(APP, redirect_uris=[REDIRECT_URI])
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def world(amazon) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as env, mock_aws():
        seeded = seed(None, app_credentials=APP, state_key=secrets.token_urlsafe(48))
        for key, value in function_environment(seeded, amazon_url=amazon.base_url, redirect_uri=REDIRECT_URI).items():
            env.setenv(key, value)
        env.delenv(names.ENV_SUCCESS_URL, raising=False)
        env.setenv(names.ENV_SWEEP_TIME_MARGIN_SECONDS, str(SWEEP_MARGIN_SECONDS))
        yield World(seeded, clients(None), amazon)


@dataclass
class World:
    seeded: Seeded
    clients: dict
    amazon: AmazonSimulator

    def events(self) -> list[dict]:
        """Drain the recorder queue (every `sellertoken` event on the bus lands there)."""
        sqs, url, found = self.clients["sqs"], self.seeded.events_queue_url, []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def snapshot(self, prefix: str) -> Snapshot:
        """Every secret under `prefix` (value, versions, tags) and every item of its table."""
        sm = self.clients["secretsmanager"]
        found: dict[str, tuple] = {}
        for page in sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [f"{prefix}/"]}]):
            for entry in page["SecretList"]:
                name = entry["Name"]
                versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
                found[name] = (
                    sm.get_secret_value(SecretId=name)["SecretString"],
                    sorted((v["VersionId"], tuple(sorted(v.get("VersionStages", [])))) for v in versions),
                    {t["Key"]: t["Value"] for t in entry.get("Tags", [])},
                )
        items = self.clients["dynamodb"].scan(TableName=prefix, ConsistentRead=True)["Items"]
        table = {item[names.TABLE_PARTITION_KEY]["S"]: item for item in items}
        return Snapshot(found, table)


@dataclass
class Snapshot:
    secrets: dict[str, tuple]  # name -> (value, versions, tags)
    table: dict[str, dict]  # partition key -> item

    def changed_keys(self, later: Snapshot) -> set[str]:
        keys = set(self.table) | set(later.table)
        return {k for k in keys if self.table.get(k) != later.table.get(k)}


@dataclass
class Clock:
    """deadline.clock, which a hang or a backoff (deadline.pause) moves forward instead of the test waiting."""

    skew: float = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skew

    def advance(self, seconds: float) -> None:
        self.skew += max(seconds, 0.0)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    skewed = Clock()
    monkeypatch.setattr(deadline, "clock", skewed)
    monkeypatch.setattr(deadline, "pause", skewed.advance)
    monkeypatch.setattr(budget, "wall", lambda: time.time() + skewed.skew)  # the LWA budget's slots move too
    return skewed


class AwsFaults:
    """Registers the fault handlers on every client sellertoken.aws creates; `active` says what they do, by
    service, and `calls` counts the calls each service got (whatever they were answered)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.active: dict[str, AwsFault] = {}
        self.calls: Counter[str] = Counter()

    def wrap(self, original):
        def client(service: str, config=None):
            made = original(service, config)
            read_timeout = float(made.meta.config.read_timeout)
            events = made.meta.events
            events.register_first("before-call", self._answer, unique_id="fault-matrix-answer")
            events.register_first("before-send", functools.partial(self._delay, read_timeout), unique_id="fault-delay")
            return made

        client.cache_clear = original.cache_clear
        return client

    @contextmanager
    def injected(self, *faults: AwsFault) -> Iterator[None]:
        self.active = {fault.service: fault for fault in faults}
        self.calls.clear()
        try:
            yield
        finally:
            self.active = {}

    def _answer(self, event_name: str, **_) -> tuple[AWSResponse, dict] | None:
        service = event_name.split(".")[1]
        self.calls[service] += 1
        fault = self.active.get(service)
        if fault is None or fault.code is None:
            return None
        parsed = {
            "Error": {"Code": fault.code, "Message": "injected by the fault matrix"},
            "ResponseMetadata": {"HTTPStatusCode": fault.status, "HTTPHeaders": {}},
        }
        return AWSResponse("https://fault.invalid/", fault.status, {}, None), parsed

    def _delay(self, read_timeout: float, event_name: str, request, **_) -> None:
        fault = self.active.get(event_name.split(".")[1])
        if fault is None:
            return None
        if fault.hang:
            self.clock.advance(read_timeout)
            raise ReadTimeoutError(endpoint_url=request.url)
        time.sleep(fault.latency)
        return None


@pytest.fixture
def aws_faults(monkeypatch, clock) -> AwsFaults:
    faults = AwsFaults(clock)
    monkeypatch.setattr(aws, "client", faults.wrap(aws.client))
    return faults


@dataclass
class Cell:
    """One cell's own prefix (app secret, state key, grants) in the module's world."""

    world: World
    faults: AwsFaults
    clock: Clock
    prefix: str
    seller: str = field(default_factory=new_selling_partner_id)

    @contextmanager
    def fault(self, *faults: Fault) -> Iterator[None]:
        amazon = self.world.amazon
        for fault in faults:
            if fault.amazon:
                amazon.set_fault(**fault.amazon)
        try:
            with self.faults.injected(*(fault.aws for fault in faults if fault.aws)):
                yield
        finally:
            for fault in faults:
                if fault.amazon:
                    amazon.set_fault(fault.amazon["endpoint"])  # clears it and releases what still hangs

    def grant(self) -> None:
        """An active grant for the cell's seller, made as a consent makes it, in a container gone cold."""
        code = self.world.amazon.issue_code(self.seller, REDIRECT_URI)
        refresh_token = LwaClient(self.world.amazon.base_url + "/auth/o2/token", self.prefix).exchange_code(
            code, REDIRECT_URI
        )
        token = refresh_token.refresh_token or ""
        grant = grants.Grant(self.seller, "na", "seller", token, APP["client_id"], timestamps.now_iso())
        grants.save(self.prefix, self.world.seeded.kms_key_arn, grant)
        aws.reset()  # what follows runs in a cold container: nothing of this in its caches

    # -- the entry points, each answering with a Lambda context of `timeout` seconds ------------------

    def vend(self, payload: dict, faults: tuple[Fault, ...], timeout: float) -> str:
        module = importlib.import_module("handlers.vend")
        module.vendor.cache_clear()
        context = LocalLambdaContext(names.function_name("vend"), timeout_seconds=timeout)
        with self.answered_within(timeout), self.fault(*faults):
            try:
                answer = module.handler(payload, context)
            except Exception as error:  # noqa: BLE001 - the outcome under test
                return type(error).__name__
        return "token" if answer.get("access_token") else f"answer without a token: {sorted(answer)}"

    def callback(self, faults: tuple[Fault, ...], timeout: float) -> str:
        handler = importlib.import_module("handlers.oauth").handler
        cookies: dict[str, str] = {}
        started = _get(handler, "/authorize?region=na", cookies, timeout)
        state = parse_qs(urlsplit(started["headers"]["Location"]).query)["state"][0]
        code = self.world.amazon.issue_code(self.seller, REDIRECT_URI)
        query = urlencode({"state": state, "selling_partner_id": self.seller, "spapi_oauth_code": code})
        aws.reset()  # Amazon's redirect may land on another container: its secrets are read again
        with self.answered_within(timeout), self.fault(*faults):
            result = _get(handler, f"/callback?{query}", cookies, timeout)
        return str(result["statusCode"])

    def sweep(self, faults: tuple[Fault, ...], timeout: float) -> str:
        handler = importlib.import_module("handlers.sweep").handler
        context = LocalLambdaContext(names.function_name("sweep"), timeout_seconds=timeout)
        with self.answered_within(timeout), self.fault(*faults):
            try:
                result = handler({"run_id": uuid.uuid4().hex}, context)
            except ClientError as error:
                return f"fails: {error.response['Error']['Code']}"
            except Exception as error:  # noqa: BLE001 - the outcome under test
                return f"fails: {type(error).__name__}"
        counts = result["counts"]
        if result["outcome"] == "app_credentials_rejected":
            return "credentials rejected"
        if result["outcome"] == "completed" and sum(counts.get(k, 0) for k in ("healthy", "failing")) == 1:
            return "healthy" if counts.get("healthy") else "failing"
        return f"{result['outcome']} {counts}"

    @contextmanager
    def answered_within(self, timeout: float) -> Iterator[None]:
        """Fails the cell when the entry point answers after its function's timeout (by the deadline's clock)."""
        started = self.clock()
        yield
        assert self.clock() - started < timeout, "answered after the function's timeout"


def _get(handler, target: str, cookies: dict[str, str], timeout: float) -> dict:
    headers = {"host": "broker.example.test", "user-agent": "pytest"}
    if cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    context = LocalLambdaContext(names.function_name("oauth"), timeout_seconds=timeout)
    result = handler(build_event("GET", target, headers), context)
    for raw in result.get("cookies") or []:
        jar = SimpleCookie()
        jar.load(raw)
        cookies.update({name: morsel.value for name, morsel in jar.items()})
    return result


@pytest.fixture
def cell(world, aws_faults, clock, monkeypatch) -> Iterator[Cell]:
    """A prefix and a table of the cell's own, named alike, so that nothing one cell caches reaches another."""
    prefix = "fm" + secrets.token_hex(4)
    monkeypatch.setenv(names.ENV_PREFIX, prefix)
    monkeypatch.setenv(names.ENV_TABLE_NAME, prefix)
    world.clients["dynamodb"].create_table(
        TableName=prefix,
        KeySchema=[{"AttributeName": names.TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": names.TABLE_PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sm = world.clients["secretsmanager"]
    key = world.seeded.kms_key_arn
    sm.create_secret(Name=names.app_secret_name(prefix), SecretString=json.dumps(APP), KmsKeyId=key)
    sm.create_secret(Name=names.state_key_secret_name(prefix), SecretString=secrets.token_urlsafe(48), KmsKeyId=key)
    world.amazon.reset()
    world.events()
    yield Cell(world, aws_faults, clock, prefix)
    world.amazon.reset()
