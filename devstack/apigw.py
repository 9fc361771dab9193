"""A local API Gateway (HTTP API, payload format 2.0): HTTP request → v2 event → handler → HTTP response.

It matches routes the way API Gateway does: a request that matches no `METHOD /path` route gets
API Gateway's own 404 `{"message":"Not Found"}` and never reaches the function.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, unquote, urlsplit

from devstack.lambda_context import LocalLambdaContext, invoke
from devstack.loopback import BODY_TIMEOUT_SECONDS, BadFraming, LoopbackServer, read_body, refuse

Handler = Callable[[dict, object], dict]
# HTTP API payload quota: 10 MB, cannot be increased (docs.aws.amazon.com/apigateway/latest/developerguide/
# http-api-quotas.html). Above it API Gateway answers 413 with this text body (as observed and quoted in
# koki-develop/lgtm-generator#10; the other framing errors answer RFC 9112's 400, body inferred).
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


def build_event(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    route_key: str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict:
    """The event API Gateway would deliver for `method target` (target = path?query)."""
    parts = urlsplit(target)
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in (headers or {}).items():
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    path = unquote(parts.path) or "/"
    event = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": lowered.get("host", "localhost").split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event


class LocalApiGateway:
    """Serves `routes` ({"GET /authorize": handler, …}) on host:port in a background thread."""

    def __init__(
        self,
        routes: dict[str, tuple[str, Handler]],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.routes = routes  # route key -> (function name, handler)
        self.body_timeout = body_timeout
        self.http = LoopbackServer(self._serve, host=host, port=port, name="local-apigw")
        self.base_url = self.http.base_url

    def start(self) -> str:
        return self.http.start()

    def stop(self) -> None:
        self.http.stop()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        route = self.routes.get(f"{request.command} {path}")
        try:
            body = read_body(request, max_bytes=MAX_PAYLOAD_BYTES, timeout=self.body_timeout)
        except BadFraming as error:
            if error.status == 413:
                text = f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes.".encode()
                refuse(request, 413, {"Content-Type": "text; charset=utf-8"}, text)
            else:
                refuse(request, error.status, {"Content-Type": "application/json"}, _message(error.reason))
            return
        if route is None:
            send(request, 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
            return
        function_name, handler = route
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]}; {value}" if name.lower() == "cookie" and name in headers else value
        event = build_event(
            request.command,
            request.path,
            headers,
            body,
            route_key=f"{request.command} {path}",
            source_ip=request.client_address[0],
        )
        started = time.monotonic()
        try:
            result = invoke(handler, event, LocalLambdaContext(function_name))
        except Exception:  # noqa: BLE001 - API Gateway answers 500 when the function fails
            send(request, 500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        request.server_timing = time.monotonic() - started  # type: ignore[attr-defined]
        write_result(request, result)


def write_result(request: BaseHTTPRequestHandler, result: dict) -> None:
    """Turn a v2 handler result into the HTTP response API Gateway would send."""
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    send(request, int(result.get("statusCode", 200)), headers, payload, cookies=result.get("cookies") or [])


def send(
    request: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    cookies: list[str] = (),  # type: ignore[assignment]
) -> None:
    request.send_response(status)
    for name, value in headers.items():
        if name.lower() not in ("content-length", "connection"):
            request.send_header(name, value)
    for cookie in cookies:
        request.send_header("Set-Cookie", cookie)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(body)


def _message(text: str) -> bytes:
    return json.dumps({"message": text}, separators=(",", ":")).encode()
