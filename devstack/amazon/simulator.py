"""AmazonSimulator: one loopback HTTP server that routes each path to its concern, plus the helpers
tests and the local stack call directly (the same switches the control API offers over HTTP).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack.amazon.consent import Consent
from devstack.amazon.control import Control
from devstack.amazon.lwa import Lwa, RateLimit
from devstack.amazon.spapi import SpApi
from devstack.amazon.wire import Reply, json_response, sp_error
from devstack.amazon.world import Application, World

logger = logging.getLogger(__name__)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class _QuietHandler(WSGIRequestHandler):
    """Keeps the server silent: request lines may carry consent state and must not reach stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class AmazonSimulator:
    """Consent pages, LWA and a slice of SP-API on 127.0.0.1, with switches for tests and operators."""

    @classmethod
    def for_app(cls, app: Mapping[str, str], **options: Any) -> AmazonSimulator:
        """A simulator for the app whose credentials secret holds `app` (client_id, client_secret, application_id)."""
        return cls(
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            application_id=app["application_id"],
            **options,
        )

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        application_id: str,
        redirect_uris: list[str] | tuple = (),
        host: str = "127.0.0.1",
        port: int = 0,
        code_ttl_seconds: int = 300,
        access_token_ttl_seconds: int = 3600,
        app_is_draft: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if host not in _LOOPBACK_HOSTS:
            raise ValueError(f"the Amazon simulator binds loopback only, not {host!r}")
        app = Application(client_id, client_secret, application_id, list(redirect_uris), app_is_draft)
        self.world = World(
            app, code_ttl_seconds=code_ttl_seconds, access_token_ttl_seconds=access_token_ttl_seconds, clock=clock
        )
        self.host = host
        self.port = port
        self.base_url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[str, dict[str, Callable[[Request], Response]]] = {}
        for concern in (Consent(self.world), Lwa(self.world), SpApi(self.world), Control(self.world)):
            for path, methods in concern.routes().items():
                if path in self._routes:
                    raise RuntimeError(f"two concerns serve {path}")
                self._routes[path] = methods

    # The application as registered, readable (and the Draft flag and redirect URIs changeable) as before the split.
    @property
    def client_id(self) -> str:
        return self.world.app.client_id

    @property
    def client_secret(self) -> str:
        return self.world.app.client_secret

    @property
    def application_id(self) -> str:
        return self.world.app.application_id

    @property
    def redirect_uris(self) -> list[str]:
        return self.world.app.redirect_uris

    @property
    def app_is_draft(self) -> bool:
        return self.world.app.is_draft

    @app_is_draft.setter
    def app_is_draft(self, draft: bool) -> None:
        self.world.app.is_draft = bool(draft)

    @property
    def clock(self) -> Callable[[], float]:
        return self.world.clock

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on a daemon thread; returns the base URL, e.g. "http://127.0.0.1:54321"."""
        if self._server is not None:
            raise RuntimeError("the Amazon simulator is already running")
        self.world.stopping.clear()
        try:
            server = make_server(self.host, self.port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        except SystemExit as exc:  # werkzeug exits the process when it cannot bind
            raise OSError(f"cannot bind the Amazon simulator to {self.host}:{self.port}") from exc
        self._server = server
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{server.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="amazon-simulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self.world.stop()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            methods = self._routes.get(request.path)
            if methods is None:
                response = sp_error(404, "NotFound", "The requested resource was not found.")
            elif (handler := methods.get(request.method)) is None:
                response = json_response({"message": "Method not allowed."}, 405, {"Allow": ", ".join(methods)})
            else:
                response = handler(request)
        except Reply as reply:
            response = reply.response
        except Exception as exc:  # noqa: BLE001 - a simulator bug must answer, not hang the client
            logger.error("amazon simulator: unhandled %s on %s", type(exc).__name__, request.path)
            response = json_response({"message": "simulator error"}, 500)
        return response(environ, start_response)

    # ------------------------------------------------------------------ test and operator helpers

    def calls(self) -> dict[str, int]:
        return self.world.calls()

    def reset_calls(self) -> None:
        self.world.reset_calls()

    def reset(self) -> None:
        """Forget grants, codes, tokens, faults and counters; the client secret is valid again."""
        self.world.reset()

    def issue_code(self, selling_partner_id: str, redirect_uri: str) -> str:
        """What Confirm on the consent page does, without a browser: a fresh one-time code."""
        return self.world.issue_code(selling_partner_id, redirect_uri)

    def set_account(
        self,
        selling_partner_id: str,
        *,
        store_name: str | None = None,
        marketplaces: list[str] | tuple[str, ...] | None = None,
        account_type: str | None = None,
    ) -> dict[str, Any]:
        """Create or change a selling partner's account (what the Sellers API shows of it)."""
        return self.world.set_account(
            selling_partner_id, store_name=store_name, marketplaces=marketplaces, account_type=account_type
        )

    def account(self, selling_partner_id: str) -> dict[str, Any] | None:
        return self.world.account(selling_partner_id)

    def set_sellers_role(self, granted: bool) -> None:
        """Give or take the app's role for the Sellers API (developer-docs.amazon.com/sp-api/docs/sellers-api lists
        the roles, any one of which suffices: Product Listing, Selling Partner Insights, …)."""
        self.world.set_sellers_role(granted)

    def revoke(self, selling_partner_id: str) -> int:
        """The seller removes the app: every refresh token and access token of theirs stops working."""
        return self.world.revoke(selling_partner_id)

    def set_client_secret_valid(self, valid: bool) -> None:
        self.world.set_client_secret_valid(valid)

    def set_refresh_token_rotation(self, rotate: bool) -> None:
        """On: every refresh answers a new refresh token (the old one keeps working). LWA answers "the LWA
        refresh token that you submitted" (DEVGUIDE-2021), so this is off by default; Amazon's sample still
        keeps a changed one (SAMPLES index.js /oauth/refresh), and so does the broker: this exercises that."""
        self.world.set_refresh_token_rotation(rotate)

    def set_fault(
        self,
        endpoint: str,
        *,
        latency_ms: int = 0,
        status: int | None = None,
        hang: bool = False,
        count: int | None = None,
        error: str | None = None,
    ) -> None:
        """Make `endpoint` slow, failing or hanging; with defaults only, clear its fault. `error` says what a
        failing answer carries: LWA's `error` code (token endpoint) or SP-API's error `details` (others)."""
        self.world.faults.set(endpoint, latency_ms=latency_ms, status=status, hang=hang, count=count, error=error)

    def refresh_tokens(self, selling_partner_id: str) -> list[str]:
        return self.world.refresh_tokens(selling_partner_id)

    def set_lwa_rate_limit(
        self, per_second: float | None, *, burst: int | None = None, retry_after: bool = False
    ) -> None:
        """Throttle LWA's token endpoint at `per_second` (burst: one second's worth unless given), answering 429
        above it (lwa.RateLimit); None lifts the limit. reset() lifts it too."""
        self.world.lwa_rate_limit = (
            None if per_second is None else RateLimit(per_second, burst, retry_after, self.world.clock)
        )
