"""AmazonSimulator: loopback HTTP servers that route each path to its concern, plus the helpers tests
and the local stack call directly (the same switches the control API offers over HTTP).

Two servers share one world: `base_url` is Seller Central (and LWA, SP-API and the control API, which
one host serves here), `vendor_central_url` is Vendor Central. Amazon's two sites are different hosts;
the broker tells a vendor's consent from a seller's by the host, so the simulator keeps them apart too.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack.amazon.applications import Applications
from devstack.amazon.clientsecret import DAY, ClientSecrets, SimulatedClock
from devstack.amazon.consent import SITE, Consent
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
        vendor_port: int = 0,
        code_ttl_seconds: int = 300,
        access_token_ttl_seconds: int = 3600,
        app_is_draft: bool = True,
        login_uri: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if host not in _LOOPBACK_HOSTS:
            raise ValueError(f"the Amazon simulator binds loopback only, not {host!r}")
        app = Application(client_id, client_secret, application_id, list(redirect_uris), app_is_draft, login_uri)
        self.time = SimulatedClock(clock)  # what `POST /_control/clock` moves forward
        self.world = World(
            app, code_ttl_seconds=code_ttl_seconds, access_token_ttl_seconds=access_token_ttl_seconds, clock=self.time
        )
        self.client_secrets = ClientSecrets(client_id, application_id, client_secret, self.time, self.world.count)
        self.world.accepts_replaced_secret = self.client_secrets.accepts_replaced
        self.world.secret_expired = self.client_secrets.expired
        self.host = host
        self.port = port
        self.vendor_port = vendor_port
        self.base_url = ""
        self.vendor_central_url = ""
        self._servers: list[tuple[BaseWSGIServer, threading.Thread]] = []
        # source(sites.two-hosts): Seller Central and Vendor Central are different hosts per marketplace (DEVGUIDE-2021
        # "Seller Central URLs" and "Vendor Central URLs"; SAMPLES lambda/index.js REGIONS)
        # Each concern names its paths (werkzeug rules: `<name>` is one path segment, passed to the handler).
        self._handlers: dict[tuple[str, str], Callable[..., Response]] = {}
        rules = []
        concerns = (
            Consent(self.world),
            Lwa(self.world),
            SpApi(self.world),
            Control(self.world),
            Applications(self.world, self.client_secrets),
        )
        for concern in concerns:
            for path, methods in concern.routes().items():
                if any((path, method) in self._handlers for method in methods):
                    raise RuntimeError(f"two concerns serve {path}")
                rules.append(Rule(path, endpoint=path, methods=list(methods)))
                self._handlers.update({(path, method): handler for method, handler in methods.items()})
        self._map = Map(rules, strict_slashes=False, merge_slashes=False)

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
        """Serve on daemon threads; returns Seller Central's base URL, e.g. "http://127.0.0.1:54321"
        (Vendor Central's is `vendor_central_url`)."""
        if self._servers:
            raise RuntimeError("the Amazon simulator is already running")
        self.world.stopping.clear()
        try:
            self.base_url = self._serve("seller", self.port)
            self.vendor_central_url = self._serve("vendor", self.vendor_port)
        except OSError:
            self.stop()
            raise
        return self.base_url

    def _serve(self, site: str, port: int) -> str:
        app = functools.partial(self._wsgi, site)
        try:
            server = make_server(self.host, port, app, threaded=True, request_handler=_QuietHandler)
        except SystemExit as exc:  # werkzeug exits the process when it cannot bind
            raise OSError(f"cannot bind the Amazon simulator to {self.host}:{port}") from exc
        thread = threading.Thread(target=server.serve_forever, name=f"amazon-simulator-{site}", daemon=True)
        self._servers.append((server, thread))
        thread.start()
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{server.port}"

    def stop(self) -> None:
        if not self._servers:
            return
        self.world.stop()
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []

    def _wsgi(self, site: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[SITE] = site
        request = Request(environ)
        try:
            path, values = self._map.bind_to_environ(environ).match()
            handler = self._handlers.get((path, request.method))
            if handler is None:  # werkzeug matches HEAD to a GET rule; Amazon's pages are not modelled for it
                raise MethodNotAllowed(sorted(m for (p, m) in self._handlers if p == path))
            response = handler(request, **values)
        except NotFound:  # inferred(spapi.not-found): an unknown path answers in SP-API's error shape
            response = sp_error(404, "NotFound", "The requested resource was not found.")
        except MethodNotAllowed as refused:
            allowed = ", ".join(m for m in refused.valid_methods or () if m != "HEAD")
            response = json_response({"message": "Method not allowed."}, 405, {"Allow": allowed})
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
        """Forget grants, codes, tokens, faults and counters; the client secret is valid again: the first one,
        fresh, with no queue registered, and the clock back to real time."""
        self.world.reset()
        self.time.reset()
        self.client_secrets.reset()
        self.world.app.client_secret = self.client_secrets.current.value

    def now(self) -> float:
        """Amazon's time: real time plus what `advance_days` added."""
        return self.time()

    def advance_days(self, days: float) -> list[dict[str, Any]]:
        """`POST /_control/clock {"advance_days": N}`: the expiry notices that became due (sent when a queue
        is registered)."""
        return self.client_secrets.advance(days * DAY)

    def rotate_in_portal(self) -> str:
        """The developer rotates the secret by hand in the Solution Provider Portal and copies the new one (the
        replaced one keeps its 7 days; no notification is sent: inferred, Amazon documents notices for the
        API's rotation only)."""
        self.world.app.client_secret = self.client_secrets.rotate(notify=False)
        return self.world.app.client_secret

    def register_notification_queue(self, queue_url: str | None) -> None:
        """`POST /_control/notification-queue`: what the operator does in the Developer Console."""
        self.client_secrets.register_queue(queue_url)

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
        retry_after: int | None = None,
    ) -> None:
        """Make `endpoint` slow, failing or hanging; with defaults only, clear its fault. `error` says what a
        failing answer carries: LWA's `error` code (token endpoint) or SP-API's error `details` (others), and
        `retry_after` a Retry-After header (seconds)."""
        self.world.faults.set(
            endpoint, latency_ms=latency_ms, status=status, hang=hang, count=count, error=error, retry_after=retry_after
        )

    def refresh_tokens(self, selling_partner_id: str) -> list[str]:
        return self.world.refresh_tokens(selling_partner_id)

    def set_data_elements(self, elements: list[str] | tuple[str, ...]) -> None:
        """The restricted data elements the app's roles cover (the rest: 400 InvalidInput on an RDT)."""
        self.world.set_data_elements(elements)

    def set_client_mismatch(self, selling_partner_id: str, mismatch: bool = True) -> None:
        """LWA answers unauthorized_client to refreshes with this partner's refresh tokens issued so far (they
        belong to another client id), while the application itself, every other grant and a new consent work."""
        self.world.set_client_mismatch(selling_partner_id, mismatch)

    def set_behaviour(self, **switches: bool) -> dict[str, bool]:
        """Choose between behaviours the sources leave open (world.Behaviour; docs/simulator.md). Reset restores
        the defaults."""
        return self.world.set_behaviour(**switches)

    def set_lwa_rate_limit(
        self, per_second: float | None, *, burst: int | None = None, retry_after: bool = False
    ) -> None:
        """Throttle LWA's token endpoint at `per_second` (burst: one second's worth unless given), answering 429
        above it (lwa.RateLimit); None lifts the limit. reset() lifts it too."""
        self.world.lwa_rate_limit = (
            None if per_second is None else RateLimit(per_second, burst, retry_after, self.world.clock)
        )
