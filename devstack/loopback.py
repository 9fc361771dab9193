"""A quiet threaded HTTP server on loopback that hands every request, whatever its method, to one function.

The local API Gateway and the local Lambda Invoke endpoint both stand on it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# RFC 9110 8.6: Content-Length = 1*DIGIT. RFC 9112 6.3: a request whose Content-Length is invalid (or
# whose values differ) cannot be framed; "the server MUST respond with a 400 (Bad Request) status code
# and then close the connection". AWS's front ends do; so do these servers.
_DIGITS = re.compile(r"[0-9]{1,18}")
_LONGEST = re.compile(r"[0-9]+")
# How long a server waits for the body its Content-Length promised, then answers 400 and closes.
# inferred: AWS does not document its own wait; a few seconds is generous on loopback.
BODY_TIMEOUT_SECONDS = 5.0


class BadFraming(Exception):
    """The request's body cannot be read as framed: answer `status` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(request: BaseHTTPRequestHandler, *, max_bytes: int, timeout: float) -> bytes:
    """The request's body by its Content-Length, or BadFraming (400, 411 or 413) without reading past it."""
    if request.headers.get("Transfer-Encoding") is not None:
        # A chunked body left unread would be parsed as the next request: refuse it (RFC 9110 15.5.12).
        raise BadFraming(411, "Length Required")
    values = [v.strip() for field in request.headers.get_all("Content-Length", []) for v in field.split(",")]
    if not values:
        return b""
    if len(set(values)) > 1 or not all(_LONGEST.fullmatch(v) for v in values):
        raise BadFraming(400, "Bad Request")
    length = int(values[0]) if _DIGITS.fullmatch(values[0]) else max_bytes + 1  # 19+ digits: too large anyway
    if length > max_bytes:
        raise BadFraming(413, "Payload Too Large")
    previous = request.connection.gettimeout()
    request.connection.settimeout(timeout)
    try:
        body = request.rfile.read(length)
    except (TimeoutError, ConnectionError):
        body = b""
    finally:
        request.connection.settimeout(previous)
    if len(body) < length:
        raise BadFraming(400, "Bad Request")
    return body


def refuse(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Answer and close: after a framing error the rest of the stream cannot be trusted."""
    request.close_connection = True
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.send_header("Connection", "close")
    request.end_headers()
    request.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when 20 invocations arrive at once; Lambda takes them.
    request_queue_size = 128


class LoopbackServer:
    def __init__(self, serve: Callable[[BaseHTTPRequestHandler], None], *, host: str, port: int, name: str) -> None:
        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: boto3 and browsers pool their connections

            def do_GET(self) -> None:
                serve(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

            def log_message(self, format: str, *args: object) -> None:  # quiet: URLs carry codes and states
                return

        self.server = _Server((host, port), RequestHandler)
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        self.name = name
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, forever if it never ran
            self.server.shutdown()
            self._thread = None
        self.server.server_close()
