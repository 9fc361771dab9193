"""Handlers in-process on moto (mock_aws) and the Amazon simulator on loopback."""

from __future__ import annotations

import importlib
import json
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from devstack.amazon import AmazonSimulator
from devstack.apigw import build_event
from devstack.lambda_context import LocalLambdaContext, invoke
from devstack.seed import Seeded, clients, function_environment, seed
from devstack.testapp import LOGIN_URI, REDIRECT_URI, TEST_APP, running_simulator
from sellertoken import names, state
from tests.integration.rotation_world import rotation_world  # noqa: F401 - the rotation tests' fixture

APP = TEST_APP  # the name the integration tests import


@pytest.fixture(scope="session")
def amazon():
    with running_simulator(APP, redirect_uris=[REDIRECT_URI], login_uri=LOGIN_URI) as simulator:
        yield simulator


@pytest.fixture
def aws(amazon, monkeypatch):
    """A fresh moto world seeded like the real stack, and the functions' environment pointing at it."""
    amazon.reset()
    with mock_aws():
        seeded = seed(None, app_credentials=APP, state_key=secrets.token_urlsafe(48))
        env = function_environment(
            seeded, amazon_url=amazon.base_url, redirect_uri=REDIRECT_URI, vendor_central_url=amazon.vendor_central_url
        )
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv(names.ENV_SUCCESS_URL, raising=False)
        yield World(seeded, clients(None), amazon)


@dataclass
class World:
    seeded: Seeded
    clients: dict
    amazon: AmazonSimulator

    def secret_names(self) -> list[str]:
        paginator = self.clients["secretsmanager"].get_paginator("list_secrets")
        return [s["Name"] for page in paginator.paginate() for s in page["SecretList"]]

    def grant_names(self) -> list[str]:
        return [n for n in self.secret_names() if n.startswith(names.grants_prefix())]

    def grant(self, region: str, seller: str) -> tuple[dict, dict[str, str]]:
        sm = self.clients["secretsmanager"]
        name = names.grant_secret_name(region, seller)
        value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name).get("Tags", [])}
        return value, tags

    def table_items(self) -> list[dict]:
        return self.clients["dynamodb"].scan(TableName=self.seeded.table_name)["Items"]

    def events(self) -> list[dict]:
        """Drain the recorder queue (every `sellertoken` event on the bus lands there)."""
        sqs, found = self.clients["sqs"], []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.seeded.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.seeded.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def snapshot(self) -> tuple:
        return (sorted(self.secret_names()), len(self.table_items()))


@dataclass
class Browser:
    """Calls the oauth handler with API Gateway v2 events, keeping cookies like a browser."""

    handler: object
    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, target: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> dict:
        headers = {"host": "broker.example.test", "user-agent": "pytest", **(headers or {})}
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        event = build_event(method, target, headers)
        result = invoke(self.handler, event, LocalLambdaContext(names.function_name("oauth")))
        for raw in result.get("cookies") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return result

    def start(self, target: str = "/authorize?region=na") -> dict[str, str]:
        """Begin a consent; returns the consent URL's query (state, application_id, …)."""
        result = self.get(target)
        assert result["statusCode"] == 302, result
        return {k: v[0] for k, v in parse_qs(urlsplit(location(result)).query).items()}


def location(result: dict) -> str:
    return result["headers"]["Location"]


@pytest.fixture
def oauth(aws):
    """The oauth function's handler, imported after the environment is set (cold start)."""
    module = importlib.import_module("handlers.oauth")
    return module.handler


@pytest.fixture
def browser(oauth):
    return Browser(oauth)


def new_seller() -> str:
    return "A" + secrets.token_hex(7).upper()[:13]


def state_cookie(browser: Browser) -> str | None:
    return browser.cookies.get(state.COOKIE_NAME)


@pytest.fixture
def authorize(browser, aws):
    """Run a real consent for a new seller; returns the seller id."""

    def run(region_query: str = "region=na", seller: str | None = None) -> str:
        from urllib.parse import urlencode

        seller = seller or new_seller()
        consent = browser.start(f"/authorize?{region_query}")
        code = aws.amazon.issue_code(seller, REDIRECT_URI)
        query = urlencode({"state": consent["state"], "selling_partner_id": seller, "spapi_oauth_code": code})
        assert browser.get(f"/callback?{query}")["statusCode"] == 200
        aws.events()
        return seller

    return run


@pytest.fixture
def vend(aws):
    """The vend function's handler with a fresh container (empty memory cache)."""
    module = importlib.import_module("handlers.vend")
    module.vendor.cache_clear()
    yield lambda payload: invoke(module.handler, payload, LocalLambdaContext(names.function_name("vend")))
    module.vendor.cache_clear()
