"""The local API Gateway and the local Lambda Invoke endpoint answer malformed HTTP with a clean 4xx, as AWS
does, instead of a traceback, a dropped connection or a connection that hangs.

Requests go over a raw socket, because no well-behaved client sends a bad Content-Length.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from urllib.parse import urlsplit

import pytest

from devstack.apigw import MAX_PAYLOAD_BYTES as API_MAX_PAYLOAD
from devstack.apigw import LocalApiGateway
from devstack.lambda_invoke import MAX_PAYLOAD_BYTES as LAMBDA_MAX_PAYLOAD
from devstack.lambda_invoke import LocalLambda

BODY_TIMEOUT = 0.3  # how long the servers wait for a body that its Content-Length promised
SOCKET_TIMEOUT = 5.0  # the test's own limit: a server that hangs fails the test instead of the run


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool | None  # the server closed the connection after answering (None: not asked)


def send(base_url: str, raw: bytes, *, then_close_writing: bool = False, see_close: bool = False) -> Answer:
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    with socket.create_connection((host, port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(raw)
        if then_close_writing:
            sock.shutdown(socket.SHUT_WR)
        response = HTTPResponse(sock)
        response.begin()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        closed = None
        if see_close:  # a server that keeps the connection open fails this after SOCKET_TIMEOUT
            try:
                closed = sock.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed = False
        return Answer(response.status, headers, body, closed)


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def gateway() -> Iterator[LocalApiGateway]:
    api = LocalApiGateway({"POST /echo": ("echo", lambda event, _: {"statusCode": 200, "body": event.get("body", "")})})
    api.body_timeout = BODY_TIMEOUT
    api.start()
    yield api
    api.stop()


@pytest.fixture
def lambdas() -> Iterator[LocalLambda]:
    local = LocalLambda({"echo": lambda event, _: event}, body_timeout=BODY_TIMEOUT)
    local.start()
    yield local
    local.stop()


INVOKE = "/2015-03-31/functions/echo/invocations"
BAD_LENGTHS = {
    "negative": "-3",
    "not a number": "abc",
    "a float": "1.5",
    "a sign": "+5",
    "two different values": "5, 6",
    "empty": "",
}


@pytest.mark.parametrize("length", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_the_gateway_answers_a_malformed_content_length_with_400_and_closes(gateway, length):
    answer = send(gateway.base_url, request("POST", "/echo", {"Content-Length": length}, b"hello"), see_close=True)

    assert answer.status == 400 and json.loads(answer.body) == {"message": "Bad Request"}
    assert answer.closed


@pytest.mark.parametrize("length", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_the_lambda_endpoint_answers_a_malformed_content_length_with_invalid_request_content(lambdas, length):
    answer = send(lambdas.base_url, request("POST", INVOKE, {"Content-Length": length}, b"{}"), see_close=True)

    assert answer.status == 400 and answer.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert answer.closed


@pytest.mark.parametrize("server", ["gateway", "lambdas"])
def test_a_body_shorter_than_its_content_length_gets_400_once_the_body_timeout_passes(request_fixture, server):
    base_url, path = request_fixture(server)

    answer = send(base_url, request("POST", path, {"Content-Length": "100"}, b"{}"), see_close=True)

    assert answer.status == 400 and answer.closed


@pytest.mark.parametrize("server", ["gateway", "lambdas"])
def test_a_body_cut_short_by_the_client_gets_400_at_once(request_fixture, server):
    base_url, path = request_fixture(server)

    answer = send(
        base_url, request("POST", path, {"Content-Length": "100"}, b"{}"), then_close_writing=True, see_close=True
    )

    assert answer.status == 400 and answer.closed


def test_the_gateway_refuses_a_huge_content_length_with_413_without_reading_the_body(gateway):
    answer = send(gateway.base_url, request("POST", "/echo", {"Content-Length": str(10**30)}, b"x"), see_close=True)

    assert answer.status == 413 and answer.body == f"HTTP content length exceeded {API_MAX_PAYLOAD} bytes.".encode()
    assert answer.closed


def test_the_lambda_endpoint_refuses_a_huge_content_length_with_request_too_large(lambdas):
    answer = send(lambdas.base_url, request("POST", INVOKE, {"Content-Length": str(LAMBDA_MAX_PAYLOAD + 1)}, b"x"))

    assert answer.status == 413 and answer.headers["x-amzn-errortype"] == "RequestTooLargeException"


def test_a_content_length_too_long_to_be_a_number_is_too_large_not_a_crash(gateway):
    answer = send(gateway.base_url, request("POST", "/echo", {"Content-Length": "9" * 5000}, b"x"))

    assert answer.status == 413


def test_a_chunked_body_is_refused_rather_than_read_as_the_next_request(gateway):
    chunked = request("POST", "/echo", {"Transfer-Encoding": "chunked"}, b"5\r\nhello\r\n0\r\n\r\n")

    answer = send(gateway.base_url, chunked, see_close=True)

    assert answer.status == 411 and answer.closed


def test_a_deeply_nested_json_payload_is_invalid_request_content_without_a_traceback(lambdas, capfd):
    nested = b"[" * 100_000 + b"]" * 100_000

    answer = send(lambdas.base_url, request("POST", INVOKE, {"Content-Length": str(len(nested))}, nested))

    assert answer.status == 400 and answer.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert "Traceback" not in capfd.readouterr().err


def test_the_servers_keep_answering_well_formed_requests_after_hostile_ones(gateway, lambdas):
    send(gateway.base_url, request("POST", "/echo", {"Content-Length": "-1"}))
    send(lambdas.base_url, request("POST", INVOKE, {"Content-Length": "abc"}))

    echoed = send(gateway.base_url, request("POST", "/echo", {"Content-Length": "2"}, b"hi"))
    invoked = send(lambdas.base_url, request("POST", INVOKE, {"Content-Length": "8"}, b'{"a": 1}'))

    assert echoed.status == 200 and invoked.status == 200 and json.loads(invoked.body) == {"a": 1}


@pytest.fixture
def request_fixture(request):
    def pick(server: str) -> tuple[str, str]:
        running = request.getfixturevalue(server)
        return running.base_url, "/echo" if server == "gateway" else INVOKE

    return pick
