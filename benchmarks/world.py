"""The world a benchmark runs against, all on 127.0.0.1: moto's server (DynamoDB serialized as in
devstack, every AWS request counted by operation) and the Amazon simulator, seeded like the stack."""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from benchmarks import child
from devstack.amazon import AmazonSimulator, new_selling_partner_id
from devstack.awsserver import LocalAwsServer, SerializedServices
from devstack.seed import function_environment, seed
from devstack.testapp import REDIRECT_URI, TEST_APP
from sellertoken import names, table, timestamps

HOST = "127.0.0.1"
APP = TEST_APP
# X-Amz-Target prefixes of the JSON-protocol services the broker talks to.
SERVICES = {
    "DynamoDB_20120810": "dynamodb",
    "secretsmanager": "secretsmanager",
    "AWSEvents": "events",
    "TrentService": "kms",
    "AmazonSQS": "sqs",
    "AWSLambda": "lambda",
}
READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet")


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


class CountingApp:
    """WSGI middleware: counts every request by (service, operation) from its X-Amz-Target header."""

    def __init__(self, app) -> None:
        self.app = app
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        prefix, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        key = (SERVICES.get(prefix, prefix or "other"), operation or environ.get("PATH_INFO", ""))
        with self.lock:
            self.counts[key] += 1
        return self.app(environ, start_response)


class CountingAwsServer(LocalAwsServer):
    """devstack's LocalAwsServer (DynamoDB and Secrets Manager serialized) with a request counter in front."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counter = CountingApp(None)

    def _server_entry(self) -> None:
        self.counter.app = SerializedServices(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, self.counter, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class World:
    """Start with `with World() as world:`; `world.env` is what a child process needs to be a container."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.aws = CountingAwsServer(ip_address=HOST, port=0, verbose=False)
        self.amazon = AmazonSimulator.for_app(
            APP,
            redirect_uris=[REDIRECT_URI],
            host=HOST,
            code_ttl_seconds=3600,  # seeding 10,000 grants may take longer than Amazon's 5 minutes
        )
        self.env: dict[str, str] = {}
        self.aws_url = ""

    def __enter__(self) -> World:
        self.aws.start()
        try:
            self.aws_url = "http://{}:{}".format(*self.aws.get_host_and_port())
            # moto's backends are process-wide: forget what an earlier world of this process left.
            requests.post(f"{self.aws_url}/moto-api/reset", timeout=10).raise_for_status()
            amazon_url = self.amazon.start()
            seeded = seed(self.aws_url, app_credentials=APP, state_key=secrets.token_urlsafe(48))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.env = function_environment(
            seeded, aws_url=self.aws_url, amazon_url=amazon_url, redirect_uri=REDIRECT_URI
        ) | {"POWERTOOLS_LOG_LEVEL": "WARNING"}
        return self

    def __exit__(self, *exc) -> None:
        for part in (self.amazon, self.aws):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stop the other whatever this one does
                continue

    @property
    def lwa_url(self) -> str:
        return self.env[names.ENV_LWA_ENDPOINT]

    # -- Amazon -----------------------------------------------------------------------------------

    def set_lwa_latency(self, latency_ms: int) -> None:
        self.amazon.set_fault("token", latency_ms=latency_ms)

    def lwa_refreshes(self) -> int:
        return self.amazon.calls()["token.refresh_token"]

    # -- AWS --------------------------------------------------------------------------------------

    def aws_calls(self) -> Counter[tuple[str, str]]:
        with self.aws.counter.lock:
            return Counter(self.aws.counter.counts)

    def release(self, group: child.Group, lineup: child.Lineup) -> int:
        """Let every worker waiting in `lineup` go at once, counting AWS calls from that moment; stops the group
        if the release fails. Returns the LWA refreshes made before the start (the run's baseline)."""
        baseline: dict[str, int] = {}

        def reset() -> None:
            self.reset_aws_calls()
            baseline["lwa"] = self.lwa_refreshes()

        try:
            lineup.release(reset)
        except BaseException:
            group.stop()
            raise
        return baseline["lwa"]

    def reset_aws_calls(self) -> None:
        with self.aws.counter.lock:
            self.aws.counter.counts.clear()

    def token_item_bytes(self) -> int:
        """The size DynamoDB bills a grant's token item by (attribute names and values, numbers counted as
        DynamoDB stores them: about one byte per two significant digits, plus one)."""
        from devstack.seed import clients

        ddb = clients(self.aws_url)["dynamodb"]
        for page in ddb.get_paginator("scan").paginate(TableName=self.env[names.ENV_TABLE_NAME]):
            for item in page["Items"]:
                if item[names.TABLE_PARTITION_KEY]["S"].startswith(table.TOKEN_PREFIX):
                    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())
        raise LookupError("no token item in the table")

    def forget_cached_tokens(self) -> int:
        """Empty the shared cache as a restored table would be: tokens, leases and the LWA budget's items go
        (the grants and their secrets stay). Returns how many items were deleted."""
        from devstack.seed import clients

        ddb = clients(self.aws_url)["dynamodb"]
        table_name, key = self.env[names.ENV_TABLE_NAME], names.TABLE_PARTITION_KEY
        doomed = [
            item[key]
            for page in ddb.get_paginator("scan").paginate(TableName=table_name, ProjectionExpression=key)
            for item in page["Items"]
            if item[key]["S"].startswith((table.TOKEN_PREFIX, table.LEASE_PREFIX, table.BUDGET_PREFIX))
        ]
        for pk in doomed:
            ddb.delete_item(TableName=table_name, Key={key: pk})
        return len(doomed)

    # -- grants -----------------------------------------------------------------------------------

    def create_grants(self, count: int, *, threads: int = 8, region: str = "na") -> list[tuple[str, str]]:
        """`count` active grants, made as a consent makes them: Amazon issues a code, LWA exchanges it for a
        refresh token (so the simulator knows it), grants.save stores the secret. Returns (seller, refresh token).
        The exchanges and writes run in a child process, so that they and the servers use both cores."""
        sellers = [new_selling_partner_id() for _ in range(count)]
        codes = [self.amazon.issue_code(seller, REDIRECT_URI) for seller in sellers]
        tokens = child.run_one(_save_grants, self.env, list(zip(sellers, codes, strict=True)), region, threads)
        return list(zip(sellers, tokens, strict=True))


def _value_bytes(value: dict) -> int:
    if "S" in value:
        return len(value["S"].encode())
    if "N" in value:
        digits = value["N"].lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if "BOOL" in value:
        return 1
    raise ValueError(f"no size rule for {sorted(value)}")


def _save_grants(pairs: list[tuple[str, str]], region: str, threads: int) -> list[str]:
    from sellertoken import grants
    from sellertoken.config import get_config
    from sellertoken.lwa import LwaClient

    config = get_config()
    lwa = LwaClient(config.lwa_endpoint, config.prefix)
    client_id = APP["client_id"]

    def one(pair: tuple[str, str]) -> str:
        seller, code = pair
        refresh_token = lwa.exchange_code(code, REDIRECT_URI).refresh_token
        grant = grants.Grant(seller, region, "seller", refresh_token, client_id, timestamps.now_iso())
        grants.save(config.prefix, config.kms_key_id, grant)
        return refresh_token

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, pairs))
