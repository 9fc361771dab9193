"""A quiet threaded HTTP server on loopback that hands every request, whatever its method, to one function.

The local API Gateway and the local Lambda Invoke endpoint both stand on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
