"""moto's threaded server with DynamoDB and Secrets Manager requests serialized.

DynamoDB applies a conditional write atomically; moto checks and writes in two Python steps, so
two threads can both win. One lock around DynamoDB requests restores DynamoDB's guarantee, which
the fleet-wide refresh lease relies on. moto's Secrets Manager fails concurrent CreateSecret
calls ("dictionary changed size during iteration"), which concurrent consents would make.
"""

from __future__ import annotations

import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

SERIALIZED_TARGETS = ("DynamoDB_", "secretsmanager.")


class SerializedServices:
    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(SERIALIZED_TARGETS):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class LocalAwsServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = SerializedServices(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
