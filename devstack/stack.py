"""The whole broker on loopback: moto's server, the Amazon simulator and a local API Gateway that
runs the real handlers in-process. Endpoints are written to .devstack/endpoints.json once ready."""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3

from devstack.amazon import AmazonSimulator
from devstack.apigw import LocalApiGateway
from devstack.awsserver import LocalAwsServer
from devstack.eventsource import QueueEventSource, lambda_invoke
from devstack.lambda_invoke import LocalLambda
from devstack.seed import Seeded, function_environment, seed
from sellertoken import names

HOST = "127.0.0.1"
OAUTH_FUNCTION = names.function_name("oauth")
OAUTH_ROUTES = tuple(f"GET {path}" for path in names.CONSENT_ROUTES)
# Functions served by the local Lambda Invoke endpoint: key in endpoints.json "functions" -> (name, handler).
FUNCTIONS = {
    key: (names.function_name(key), names.FUNCTION_HANDLERS[key]) for key in ("vend", "sweep", "ops", "rotation")
}
TIMEOUTS = {names.function_name("sweep"): 900.0}  # as deployed (infra/sweep.py); vend keeps the 30 s default


class LocalStack:
    def __init__(
        self,
        *,
        api_port: int = 0,
        aws_port: int = 0,
        amazon_port: int = 0,
        vendor_central_port: int = 0,
        lambda_port: int = 0,
        state_dir: str | Path = ".devstack",
        success_url: str | None = None,
        sweep_every_seconds: float = 300.0,
        rotation_check_every_seconds: float = 3600.0,
        lwa_rate_limit: float | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.success_url = success_url
        self.scheduler = SweepScheduler(sweep_every_seconds)
        self.rotation_scheduler = SweepScheduler(rotation_check_every_seconds)
        self.notices: QueueEventSource | None = None
        self.aws = LocalAwsServer(ip_address=HOST, port=aws_port, verbose=False)
        self.api = LocalApiGateway({}, host=HOST, port=api_port)
        self.lambdas = LocalLambda(host=HOST, port=lambda_port, region=names.LOCAL_AWS_REGION)
        self.app_credentials = {
            "client_id": "amzn1.application-oa2-client.local" + secrets.token_hex(12),
            "client_secret": "amzn1.oa2-cs.v1." + secrets.token_hex(32),
            "application_id": "amzn1.sp.solution.local-" + secrets.token_hex(8),
        }
        self.amazon = AmazonSimulator.for_app(
            self.app_credentials,
            redirect_uris=[f"{self.api.base_url}/callback"],
            login_uri=f"{self.api.base_url}/login",
            host=HOST,
            port=amazon_port,
            vendor_port=vendor_central_port,
        )
        if lwa_rate_limit:
            self.amazon.set_lwa_rate_limit(lwa_rate_limit)
        self.seeded: Seeded | None = None
        self.endpoints: dict = {}

    def start(self) -> dict:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.aws.start()
        aws_url = "http://{}:{}".format(*self.aws.get_host_and_port())
        amazon_url = self.amazon.start()
        self.seeded = seed(aws_url, app_credentials=self.app_credentials, state_key=secrets.token_urlsafe(48))
        os.environ.update(self._environment(aws_url, amazon_url))
        for route in OAUTH_ROUTES:
            self.api.routes[route] = (OAUTH_FUNCTION, _handler(names.FUNCTION_HANDLERS["oauth"]))
        api_url = self.api.start()
        for function_name, handler in FUNCTIONS.values():
            self.lambdas.functions[function_name] = _handler(handler)
        self.lambdas.timeouts.update(TIMEOUTS)
        lambda_url = self.lambdas.start()
        # In-process handlers that invoke a function (the sweep continuing itself) reach this endpoint too.
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_url
        self.endpoints = {
            "api": api_url,
            "aws": aws_url,
            "amazon": amazon_url,
            "vendor_central": self.amazon.vendor_central_url,
            "region": names.LOCAL_AWS_REGION,
            "authorize": f"{api_url}/authorize?region=na",
            "redirect_uri": f"{api_url}/callback",
            "events_queue_url": self.seeded.events_queue_url,
            "notification_queue_url": self.seeded.notification_queue_url,
            "notification_dlq_url": self.seeded.notification_dlq_url,
            "table": self.seeded.table_name,
            "event_bus": self.seeded.event_bus_name,
            "lambda": lambda_url,
            "functions": {key: function_name for key, (function_name, _) in FUNCTIONS.items()},
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "endpoints.json"
        path.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        self.scheduler.start(lambda_url, FUNCTIONS["sweep"][0])
        self.rotation_scheduler.start(lambda_url, FUNCTIONS["rotation"][0])
        self._start_notifications(aws_url, lambda_url)
        return self.endpoints

    def _start_notifications(self, aws_url: str, lambda_url: str) -> None:
        """The operator's portal step (the queue registered for both client-secret notifications), and the
        event source mapping that runs the rotation function from that queue. The rotation decides in Amazon's
        time: walking the simulator's clock walks it too (the broker's caches keep real time)."""
        assert self.seeded is not None
        from sellertoken import rotation

        rotation.clock = self.amazon.now
        self.amazon.register_notification_queue(self.seeded.notification_queue_url)
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=names.LOCAL_AWS_REGION
        )
        function_name = FUNCTIONS["rotation"][0]
        invoke = lambda_invoke(session.client("lambda", endpoint_url=lambda_url), function_name)
        self.notices = QueueEventSource(
            session.client("sqs", endpoint_url=aws_url), self.seeded.notification_queue_url, function_name, invoke
        )
        self.notices.start()

    def stop(self) -> None:
        for part in (
            self.notices,
            self.rotation_scheduler,
            self.scheduler,
            self.lambdas,
            self.api,
            self.amazon,
            self.aws,
        ):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:  # noqa: BLE001, S112 - stop the rest whatever one of them does
                continue
        (self.state_dir / "endpoints.json").unlink(missing_ok=True)

    def _environment(self, aws_url: str, amazon_url: str) -> dict[str, str]:
        assert self.seeded is not None
        env = function_environment(
            self.seeded,
            aws_url=aws_url,
            amazon_url=amazon_url,
            redirect_uri=f"{self.api.base_url}/callback",
            success_url=self.success_url,
            vendor_central_url=self.amazon.vendor_central_url,
        )
        if self.scheduler.every_seconds > 0:  # as infra sets it from the schedule: the default proof window
            env[names.ENV_SWEEP_PERIOD_SECONDS] = f"{max(self.scheduler.every_seconds, 1.0):g}"
        return env


class SweepScheduler:
    """EventBridge's schedule, locally: every N seconds an async invoke of a function (the sweep, the rotation
    check) with a Scheduled Event."""

    def __init__(self, every_seconds: float) -> None:
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, lambda_url: str, function_name: str) -> None:
        if self.every_seconds <= 0:
            return
        client = boto3.client(
            "lambda",
            endpoint_url=lambda_url,
            region_name=names.LOCAL_AWS_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

        def loop() -> None:
            while not self._stop.wait(self.every_seconds):
                event = {
                    "version": "0",
                    "id": uuid.uuid4().hex,
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": names.LOCAL_AWS_REGION,
                    "detail": {},
                }
                client.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(event).encode())

        self._thread = threading.Thread(target=loop, name="sweep-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def _handler(path: str):
    """The handler at `module.function` (names.FUNCTION_HANDLERS), imported once the environment is set."""
    module, function = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)
