"""A loopback-only simulator of Amazon's side of SP-API authorization.

It serves the Seller/Vendor Central consent page, the Login with Amazon (LWA) token endpoint and the
few SP-API operations the broker uses, with the request and error shapes documented in
`reference/sp-api-auth.md`, plus switches (revocation, client-secret expiry, faults) for tests.
It never makes an outside call and never logs a token, code or secret.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack import amazon_pages

logger = logging.getLogger(__name__)

CONSENT_PATH = "/apps/authorize/consent"
CONFIRM_PATH = amazon_pages.CONFIRM_PATH
TOKEN_PATH = "/auth/o2/token"
SELLERS_PATH = "/sellers/v1/marketplaceParticipations"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
ORDERS_PATH = "/orders/v0/orders"

FAULT_ENDPOINTS = frozenset({"token", "sellers", "rdt", "consent"})
GRANTLESS_SCOPES = frozenset({"sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"})
RDT_METHODS = frozenset({"GET", "PUT", "POST", "DELETE"})
RDT_DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
RDT_TTL_SECONDS = 3600
HANG_SECONDS = 30.0
COUNTERS = (
    "token.authorization_code",
    "token.refresh_token",
    "token.client_credentials",
    "token.error",
    "sellers.marketplaceParticipations",
    "tokens.restrictedDataToken",
    "orders.getOrders",
    "consent",
    "consent.confirm",
    "consent.cancel",
)

SELLING_PARTNER_ID = re.compile(r"[A-Z0-9]{8,20}")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ALPHABET = string.ascii_letters + string.digits
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# getMarketplaceParticipations' marketplace objects (models/sellers-api-model/sellers.json @34dc93f: the US
# entry is the model's own example; ids from developer-docs.amazon.com/sp-api/docs/marketplace-ids; the
# other names, currencies, languages and domains are inferred from each marketplace's public site).
MARKETPLACES: dict[str, dict[str, str]] = {
    m[0]: {"id": m[0], "countryCode": m[1], "name": m[2], "defaultCurrencyCode": m[3],
           "defaultLanguageCode": m[4], "domainName": m[5]}
    for m in (
        ("ATVPDKIKX0DER", "US", "Amazon.com", "USD", "en_US", "www.amazon.com"),
        ("A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "CAD", "en_CA", "www.amazon.ca"),
        ("A1AM78C64UM0Y8", "MX", "Amazon.com.mx", "MXN", "es_MX", "www.amazon.com.mx"),
        ("A2Q3Y263D00KWC", "BR", "Amazon.com.br", "BRL", "pt_BR", "www.amazon.com.br"),
        ("A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "GBP", "en_GB", "www.amazon.co.uk"),
        ("A1PA6795UKMFR9", "DE", "Amazon.de", "EUR", "de_DE", "www.amazon.de"),
        ("A13V1IB3VIYZZH", "FR", "Amazon.fr", "EUR", "fr_FR", "www.amazon.fr"),
        ("APJ6JRA9NG5V4", "IT", "Amazon.it", "EUR", "it_IT", "www.amazon.it"),
        ("A1RKKUPIHCS9HS", "ES", "Amazon.es", "EUR", "es_ES", "www.amazon.es"),
        ("A1VC38T7YXB528", "JP", "Amazon.co.jp", "JPY", "ja_JP", "www.amazon.co.jp"),
        ("A39IBJ37TRP1C6", "AU", "Amazon.com.au", "AUD", "en_AU", "www.amazon.com.au"),
    )
}  # fmt: skip
DEFAULT_MARKETPLACES = ("ATVPDKIKX0DER",)
# The usage plan of both Sellers API operations (sellers.json: rate 0.016, burst 15), as Amazon reports it
# in the x-amzn-RateLimit-Limit header (seen in selling-partner-api-models#1179). Not enforced here.
SELLERS_RATE_LIMIT = "0.016"
ACCOUNT_TYPES = ("seller", "vendor")

_INVALID_GRANT_CODE = "The request has an invalid grant parameter : code"
_INVALID_GRANT_REFRESH = (
    "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission."
)
DENIED_EXPIRED = "The access token you provided has expired."
DENIED_INVALID = "The access token you provided is revoked, malformed or invalid."
DENIED_SECRET = "The LWA secret token you provided has expired."

_TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def new_selling_partner_id() -> str:
    """A fresh id shaped like Amazon's examples: "A" and 13 of [A-Z0-9]."""
    return "A" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


@dataclass(slots=True)
class _Code:
    selling_partner_id: str
    redirect_uri: str
    expires_at: float


@dataclass(slots=True)
class _Account:
    """What Amazon knows of a selling partner's account and shows through the Sellers API."""

    store_name: str
    marketplaces: tuple[str, ...]
    account_type: str = "seller"


def _default_account(selling_partner_id: str) -> _Account:
    # inferred: a store name of its own, so that two simulated sellers are visibly different accounts.
    # One host serves every region here, so a new account sells in the US until told otherwise.
    return _Account(f"Simulated store {selling_partner_id}", DEFAULT_MARKETPLACES)


@dataclass(slots=True)
class _AccessToken:
    kind: str  # "seller" (Atza), "grantless" (Atc) or "rdt" (Atz.sprdt)
    selling_partner_id: str | None
    expires_at: float
    resources: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class _Fault:
    latency_ms: int
    status: int | None
    hang: bool
    remaining: int | None
    cleared: threading.Event
    error: str | None = None


class _QuietHandler(WSGIRequestHandler):
    """Keeps the server silent: request lines may carry consent state and must not reach stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class _Reply(Exception):
    """Raised by a handler to answer early with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _html(page: str, status: int = 200) -> Response:
    return Response(page, status=status, headers=_PAGE_HEADERS, content_type="text/html; charset=utf-8")


def _lwa_error(status: int, error: str, description: str) -> Response:
    body = {
        "error_description": description,
        "error": error,
        "error_index": secrets.token_urlsafe(18),
        "request_id": str(uuid.uuid4()),
    }
    return _json(body, status, _TOKEN_HEADERS)


def _sp_error(status: int, code: str, message: str, details: str = "") -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if status == 403:
        headers["x-amzn-ErrorType"] = "AccessDeniedException"
    return _json({"errors": [{"code": code, "message": message, "details": details}]}, status, headers)


def _denied(details: str) -> Response:
    return _sp_error(403, "Unauthorized", "Access to requested resource is denied.", details)


def _sp_ok(body: Any) -> Response:
    return _json(body, 200, {"x-amzn-RequestId": str(uuid.uuid4())})


def _with_query(uri: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _path_matches(pattern: str, path: str) -> bool:
    """An RDT resource path may be generic: `{orderId}` stands for one path segment."""
    want, got = pattern.rstrip("/").split("/"), path.rstrip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}") and g) for w, g in zip(want, got, strict=True)
    )


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
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_id = application_id
        self.redirect_uris: list[str] = list(redirect_uris)
        self.host = host
        self.port = port
        self.code_ttl_seconds = code_ttl_seconds
        self.access_token_ttl_seconds = access_token_ttl_seconds
        self.app_is_draft = app_is_draft
        self.clock = clock
        self.base_url = ""

        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._init_state()
        self._routes: dict[str, dict[str, Callable[[Request], Response]]] = {
            CONSENT_PATH: {"GET": self._consent_page, "POST": self._consent_submit},
            CONFIRM_PATH: {"POST": self._consent_submit},
            TOKEN_PATH: {"POST": self._token},
            SELLERS_PATH: {"GET": self._marketplace_participations},
            RDT_PATH: {"POST": self._restricted_data_token},
            ORDERS_PATH: {"GET": self._get_orders},
            "/_control/revoke": {"POST": self._control_revoke},
            "/_control/client-secret": {"POST": self._control_client_secret},
            "/_control/fault": {"POST": self._control_fault},
            "/_control/reset": {"POST": self._control_reset},
            "/_control/calls": {"GET": self._control_calls},
            "/_control/calls/reset": {"POST": self._control_calls_reset},
            "/_control/code": {"POST": self._control_code},
            "/_control/refresh-tokens": {"GET": self._control_refresh_tokens},
            "/_control/accounts": {"GET": self._control_account, "POST": self._control_set_account},
            "/_control/roles": {"POST": self._control_roles},
        }

    def _init_state(self) -> None:
        # Setting an endpoint's event releases every request hanging on a fault of that endpoint,
        # including faults already used up by `count`.
        for event in getattr(self, "_fault_cleared", {}).values():
            event.set()
        self._fault_cleared = {endpoint: threading.Event() for endpoint in FAULT_ENDPOINTS}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> selling partner id, in issue order
        self._access: dict[str, _AccessToken] = {}
        self._faults: dict[str, _Fault] = {}
        self._calls: Counter[str] = Counter()
        self._secret_valid = True
        self._rotate_refresh_tokens = False
        self._sellers_role = True  # the app holds a role the Sellers API accepts
        self._accounts: dict[str, _Account] = {}
        self._prune_at = 100_000

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on a daemon thread; returns the base URL, e.g. "http://127.0.0.1:54321"."""
        if self._server is not None:
            raise RuntimeError("the Amazon simulator is already running")
        self._stopping.clear()
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
        self._stopping.set()
        with self._lock:
            for event in self._fault_cleared.values():
                event.set()
            self._fault_cleared = {endpoint: threading.Event() for endpoint in FAULT_ENDPOINTS}
            self._faults.clear()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    # ------------------------------------------------------------------ test and operator helpers

    def calls(self) -> dict[str, int]:
        with self._lock:
            return {name: self._calls.get(name, 0) for name in COUNTERS}

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget grants, codes, tokens, faults and counters; the client secret is valid again."""
        with self._lock:
            self._init_state()

    def issue_code(self, selling_partner_id: str, redirect_uri: str) -> str:
        """What Confirm on the consent page does, without a browser: a fresh one-time code."""
        if not SELLING_PARTNER_ID.fullmatch(selling_partner_id):
            raise ValueError("selling_partner_id must match [A-Z0-9]{8,20}")
        code = "ANDL" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(24))
        with self._lock:
            expires_at = self.clock() + self.code_ttl_seconds
            self._codes[code] = _Code(selling_partner_id, redirect_uri, expires_at)
            self._accounts.setdefault(selling_partner_id, _default_account(selling_partner_id))
        return code

    def set_account(
        self,
        selling_partner_id: str,
        *,
        store_name: str | None = None,
        marketplaces: list[str] | tuple[str, ...] | None = None,
        account_type: str | None = None,
    ) -> dict[str, Any]:
        """Create or change a selling partner's account (what the Sellers API shows of it)."""
        if not SELLING_PARTNER_ID.fullmatch(selling_partner_id):
            raise ValueError("selling_partner_id must match [A-Z0-9]{8,20}")
        if store_name is not None and (not isinstance(store_name, str) or not 0 < len(store_name) <= 200):
            raise ValueError("store_name must be a string of 1 to 200 characters")
        if marketplaces is not None and (
            not isinstance(marketplaces, list | tuple)
            or not marketplaces
            or any(m not in MARKETPLACES for m in marketplaces)
        ):
            raise ValueError(f"marketplaces must be a non-empty list of: {', '.join(MARKETPLACES)}")
        if account_type is not None and account_type not in ACCOUNT_TYPES:
            raise ValueError("account_type must be seller or vendor")
        with self._lock:
            account = self._accounts.setdefault(selling_partner_id, _default_account(selling_partner_id))
            if store_name is not None:
                account.store_name = store_name
            if marketplaces is not None:
                account.marketplaces = tuple(dict.fromkeys(marketplaces))
            if account_type is not None:
                account.account_type = account_type
            return self._describe(selling_partner_id, account)

    def account(self, selling_partner_id: str) -> dict[str, Any] | None:
        with self._lock:
            account = self._accounts.get(selling_partner_id)
            return None if account is None else self._describe(selling_partner_id, account)

    def set_sellers_role(self, granted: bool) -> None:
        """Give or take the app's role for the Sellers API (developer-docs.amazon.com/sp-api/docs/sellers-api lists
        the roles, any one of which suffices: Product Listing, Selling Partner Insights, …)."""
        with self._lock:
            self._sellers_role = bool(granted)

    @staticmethod
    def _describe(selling_partner_id: str, account: _Account) -> dict[str, Any]:
        return {
            "selling_partner_id": selling_partner_id,
            "store_name": account.store_name,
            "marketplaces": list(account.marketplaces),
            "account_type": account.account_type,
        }

    def revoke(self, selling_partner_id: str) -> int:
        """The seller removes the app: every refresh token and access token of theirs stops working."""
        with self._lock:
            dead = [tok for tok, seller in self._refresh.items() if seller == selling_partner_id]
            for tok in dead:
                del self._refresh[tok]
            for tok in [t for t, rec in self._access.items() if rec.selling_partner_id == selling_partner_id]:
                del self._access[tok]
            for code in [c for c, rec in self._codes.items() if rec.selling_partner_id == selling_partner_id]:
                del self._codes[code]
        return len(dead)

    def set_client_secret_valid(self, valid: bool) -> None:
        with self._lock:
            self._secret_valid = bool(valid)

    def set_refresh_token_rotation(self, rotate: bool) -> None:
        """On: every refresh answers a new refresh token (the old one keeps working). LWA answers "the LWA
        refresh token that you submitted" (DEVGUIDE-2021), so this is off by default; Amazon's sample still
        keeps a changed one (SAMPLES index.js /oauth/refresh), and so does the broker: this exercises that."""
        with self._lock:
            self._rotate_refresh_tokens = bool(rotate)

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
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {sorted(FAULT_ENDPOINTS)}")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or None")
        if error is not None and (status is None or not isinstance(error, str) or not 0 < len(error) <= 200):
            raise ValueError("error must be a short string, given with a status")
        with self._lock:
            self._faults.pop(endpoint, None)
            self._fault_cleared[endpoint].set()
            cleared = self._fault_cleared[endpoint] = threading.Event()
            if latency_ms or status is not None or hang:
                self._faults[endpoint] = _Fault(latency_ms, status, bool(hang), count, cleared, error)

    def refresh_tokens(self, selling_partner_id: str) -> list[str]:
        with self._lock:
            return [tok for tok, seller in self._refresh.items() if seller == selling_partner_id]

    # ------------------------------------------------------------------ plumbing

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            methods = self._routes.get(request.path)
            if methods is None:
                response = _sp_error(404, "NotFound", "The requested resource was not found.")
            elif (handler := methods.get(request.method)) is None:
                response = _json({"message": "Method not allowed."}, 405, {"Allow": ", ".join(methods)})
            else:
                response = handler(request)
        except _Reply as reply:
            response = reply.response
        except Exception as exc:  # noqa: BLE001 - a simulator bug must answer, not hang the client
            logger.error("amazon simulator: unhandled %s on %s", type(exc).__name__, request.path)
            response = _json({"message": "simulator error"}, 500)
        return response(environ, start_response)

    def _count(self, name: str) -> None:
        with self._lock:
            self._calls[name] += 1

    def _fault_status(self, endpoint: str) -> int | None:
        """Applies the endpoint's fault (latency, hang); returns the status to answer with, if any."""
        return self._fault_answer(endpoint)[0]

    def _fault_answer(self, endpoint: str) -> tuple[int | None, str | None]:
        """Applies the endpoint's fault (latency, hang); returns the status to answer with and its error."""
        with self._lock:
            fault = self._faults.get(endpoint)
            if fault is None:
                return None, None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[endpoint]
        if fault.latency_ms and fault.cleared.wait(fault.latency_ms / 1000):
            return None, None
        if fault.hang and fault.cleared.wait(HANG_SECONDS):
            return (503, None) if self._stopping.is_set() else (None, None)
        return fault.status, fault.error

    def _issue_access(self, prefix: str, kind: str, seller: str | None, ttl: int, resources=()) -> str:
        token = prefix + secrets.token_urlsafe(225)
        with self._lock:
            now = self.clock()
            if len(self._access) >= self._prune_at:  # keep long benchmarks from growing without bound
                for tok in [t for t, rec in self._access.items() if rec.expires_at < now - 3600]:
                    del self._access[tok]
                self._prune_at = max(100_000, 2 * len(self._access))
            self._access[token] = _AccessToken(kind, seller, now + ttl, tuple(resources))
        return token

    # ------------------------------------------------------------------ consent pages

    def _consent_fault(self) -> Response | None:
        status = self._fault_status("consent")
        if status is not None:
            page = amazon_pages.error_page(f"HTTP {status}", "Seller Central is temporarily unavailable.")
            return _html(page, status)
        return None

    def _validate_consent(self, params: Any) -> tuple[str, Response | None]:
        application_id = params.get("application_id", "")
        if application_id != self.application_id:
            page = amazon_pages.error_page("MD9100", "The application ID is not valid or the app does not exist.")
            return "", _html(page, 400)
        if self.app_is_draft and params.get("version") != "beta":
            page = amazon_pages.error_page(
                "MD1000",
                "This application is in Draft state; add version=beta to the authorization URI.",
            )
            return "", _html(page, 400)
        registered = list(self.redirect_uris)
        redirect_uri = params.get("redirect_uri") or (registered[0] if registered else "")
        if not redirect_uri or redirect_uri not in registered:
            page = amazon_pages.error_page(
                "MD5101", "The redirect URI does not match a redirect URI registered for this application."
            )
            return "", _html(page, 400)
        if not params.get("state"):
            page = amazon_pages.error_page("bad_request", "The state parameter is missing.")
            return "", _html(page, 400)
        return redirect_uri, None

    def _consent_page(self, request: Request) -> Response:
        self._count("consent")
        failed = self._consent_fault()
        if failed is not None:
            return failed
        redirect_uri, invalid = self._validate_consent(request.args)
        if invalid is not None:
            return invalid
        page = amazon_pages.consent_page(
            application_id=self.application_id,
            state=request.args["state"],
            redirect_uri=redirect_uri,
            version=request.args.get("version", ""),
            selling_partner_id=new_selling_partner_id(),
        )
        return _html(page)

    def _consent_submit(self, request: Request) -> Response:
        failed = self._consent_fault()
        if failed is not None:
            return failed
        form = request.form
        redirect_uri, invalid = self._validate_consent(form)
        if invalid is not None:
            return invalid
        state = form["state"]
        action = form.get("action")
        if action == "cancel":
            self._count("consent.cancel")
            params = [
                ("state", state),
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
            ]
            return self._redirect(_with_query(redirect_uri, params))
        if action != "confirm":
            return _html(amazon_pages.error_page("bad_request", "Choose Confirm or Cancel."), 400)
        seller = form.get("selling_partner_id", "").strip()
        if not SELLING_PARTNER_ID.fullmatch(seller):
            page = amazon_pages.consent_page(
                application_id=self.application_id,
                state=state,
                redirect_uri=redirect_uri,
                version=form.get("version", ""),
                selling_partner_id=seller,
                error="Enter a selling partner ID of 8 to 20 capital letters and digits.",
            )
            return _html(page, 400)
        self._count("consent.confirm")
        code = self.issue_code(seller, redirect_uri)
        params = [("state", state), ("selling_partner_id", seller), ("spapi_oauth_code", code)]
        return self._redirect(_with_query(redirect_uri, params))

    @staticmethod
    def _redirect(location: str) -> Response:
        return Response("", status=302, headers={**_PAGE_HEADERS, "Location": location})

    # ------------------------------------------------------------------ LWA token endpoint

    def _token(self, request: Request) -> Response:
        response = self._token_response(request)
        if response.status_code != 200:
            self._count("token.error")
        return response

    def _token_response(self, request: Request) -> Response:
        params: Any = request.get_json(silent=True) if request.mimetype == "application/json" else request.form
        grant_type = params.get("grant_type") if isinstance(params, dict) else None
        if grant_type in ("authorization_code", "refresh_token", "client_credentials"):
            self._count(f"token.{grant_type}")
        status, error = self._fault_answer("token")
        if status is not None:
            if error is not None:
                # Any code the SDKs know (reference §2 "Error codes", MODELS LWAExceptionErrorCode) or one they do not.
                return _lwa_error(status, error, "The request was refused.")
            if status == 503:
                return _lwa_error(503, "temporarily_unavailable", "The service is temporarily unavailable.")
            if status == 429:
                return _lwa_error(429, "server_error", "Rate exceeded.")
            return _lwa_error(status, "server_error", "The server encountered an internal error.")

        required = {
            "authorization_code": ("code", "redirect_uri", "client_id", "client_secret"),
            "refresh_token": ("refresh_token", "client_id", "client_secret"),
            "client_credentials": ("client_id", "client_secret"),
        }
        if not isinstance(params, dict):
            return _lwa_error(400, "invalid_request", "The request body is not valid JSON.")
        if not isinstance(grant_type, str) or not grant_type:
            return _lwa_error(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type not in required:
            return _lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        for name in required[grant_type]:
            value = params.get(name)
            if not isinstance(value, str) or not value:
                return _lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")

        with self._lock:
            secret_ok = self._secret_valid
        client_ok = secrets.compare_digest(params["client_id"].encode(), self.client_id.encode())
        secret_match = secrets.compare_digest(params["client_secret"].encode(), self.client_secret.encode())
        if not (client_ok and secret_match and secret_ok):
            return _lwa_error(401, "invalid_client", "Client authentication failed")

        if grant_type == "authorization_code":
            return self._exchange_code(params["code"], params["redirect_uri"])
        if grant_type == "refresh_token":
            return self._refresh_grant(params["refresh_token"])
        return self._client_credentials(params.get("scope"))

    def _exchange_code(self, code: str, redirect_uri: str) -> Response:
        with self._lock:
            grant = self._codes.pop(code, None)  # any attempt uses the code up
            now = self.clock()
        if grant is None or grant.expires_at <= now or grant.redirect_uri != redirect_uri:
            return _lwa_error(400, "invalid_grant", _INVALID_GRANT_CODE)
        refresh_token = "Atzr|" + secrets.token_urlsafe(300)
        with self._lock:
            self._refresh[refresh_token] = grant.selling_partner_id
        return self._bearer(grant.selling_partner_id, refresh_token)

    def _refresh_grant(self, refresh_token: str) -> Response:
        with self._lock:
            seller = self._refresh.get(refresh_token)
            if seller is not None and self._rotate_refresh_tokens:
                refresh_token = "Atzr|" + secrets.token_urlsafe(300)
                self._refresh[refresh_token] = seller
        if seller is None:
            return _lwa_error(400, "invalid_grant", _INVALID_GRANT_REFRESH)
        return self._bearer(seller, refresh_token)

    def _bearer(self, seller: str, refresh_token: str) -> Response:
        ttl = self.access_token_ttl_seconds
        access = self._issue_access("Atza|", "seller", seller, ttl)
        body = {"access_token": access, "refresh_token": refresh_token, "token_type": "bearer", "expires_in": ttl}
        return _json(body, 200, _TOKEN_HEADERS)

    def _client_credentials(self, scope: Any) -> Response:
        scopes = scope.split() if isinstance(scope, str) else []
        if not scopes or not set(scopes) <= GRANTLESS_SCOPES:
            return _lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
        ttl = self.access_token_ttl_seconds
        access = self._issue_access("Atc|", "grantless", None, ttl)
        return _json(
            {"access_token": access, "scope": scope, "token_type": "bearer", "expires_in": ttl}, 200, _TOKEN_HEADERS
        )

    # ------------------------------------------------------------------ SP-API

    def _sp_fault(self, endpoint: str) -> None:
        status, error = self._fault_answer(endpoint)
        if status is None:
            return
        if status == 403:
            # Unauthorized with Amazon's details: empty for a missing role or the wrong region, or e.g.
            # "The LWA secret token you provided has expired." (reference §3, models#4825, models#4489).
            raise _Reply(_denied(error or ""))
        if status == 404:
            raise _Reply(_sp_error(404, "NotFound", "The requested resource was not found."))
        if status == 429:
            raise _Reply(_sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource."))
        if status >= 500:
            raise _Reply(_sp_error(status, "InternalFailure", "We encountered an internal error. Please try again."))
        raise _Reply(_sp_error(status, "InvalidInput", error or "The request is invalid."))

    def _authorize(self, request: Request, *, rdt_ok: bool = False) -> _AccessToken:
        """The record of the request's x-amz-access-token, or a 403 reply with Amazon's details text."""
        token = request.headers.get("x-amz-access-token", "")
        with self._lock:
            record = self._access.get(token) if token else None
            secret_ok = self._secret_valid
            now = self.clock()
        if record is None or record.kind == "grantless" or (record.kind == "rdt" and not rdt_ok):
            raise _Reply(_denied(DENIED_INVALID))
        if not secret_ok:
            raise _Reply(_denied(DENIED_SECRET))
        if record.expires_at <= now:
            raise _Reply(_denied(DENIED_EXPIRED))
        return record

    def _marketplace_participations(self, request: Request) -> Response:
        self._count("sellers.marketplaceParticipations")
        self._sp_fault("sellers")
        record = self._authorize(request)
        with self._lock:
            role = self._sellers_role
            account = self._accounts.get(record.selling_partner_id or "") or _default_account(
                record.selling_partner_id or ""
            )
        # An app without the role gets 403 Unauthorized with empty details (models#4825, docs#173,
        # jlevers/selling-partner-api#245); the Sellers API is for sellers, so a vendor's token is
        # refused the same way (inferred: no vendor case is documented).
        if not role or account.account_type != "seller":
            raise _Reply(_denied(""))
        # sellers.json: marketplace, participation and storeName per marketplace the seller can list in.
        payload = [
            {
                "marketplace": MARKETPLACES[market_id],
                "participation": {"isParticipating": True, "hasSuspendedListings": False},
                "storeName": account.store_name,
            }
            for market_id in account.marketplaces
        ]
        response = _sp_ok({"payload": payload})
        response.headers["x-amzn-RateLimit-Limit"] = SELLERS_RATE_LIMIT
        return response

    def _get_orders(self, request: Request) -> Response:
        self._count("orders.getOrders")
        record = self._authorize(request, rdt_ok=True)
        if record.kind == "rdt" and not any(
            method == "GET" and _path_matches(path, ORDERS_PATH) for method, path in record.resources
        ):
            raise _Reply(_denied(DENIED_INVALID))
        return _sp_ok({"payload": {"Orders": []}})

    def _restricted_data_token(self, request: Request) -> Response:
        self._count("tokens.restrictedDataToken")
        self._sp_fault("rdt")
        record = self._authorize(request)
        resources = self._parse_restricted_resources(request.get_json(silent=True))
        token = self._issue_access("Atz.sprdt|", "rdt", record.selling_partner_id, RDT_TTL_SECONDS, resources)
        return _sp_ok({"restrictedDataToken": token, "expiresIn": RDT_TTL_SECONDS})

    @staticmethod
    def _parse_restricted_resources(body: Any) -> list[tuple[str, str]]:
        def invalid(message: str) -> _Reply:
            return _Reply(_sp_error(400, "InvalidInput", message))

        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        target = body.get("targetApplication")
        if target is not None and not isinstance(target, str):
            raise invalid("targetApplication must be a string.")
        items = body.get("restrictedResources")
        if not isinstance(items, list) or not 1 <= len(items) <= 50:
            raise invalid("restrictedResources must contain between 1 and 50 items.")
        resources = []
        for index, item in enumerate(items):
            where = f"restrictedResources[{index}]"
            if not isinstance(item, dict):
                raise invalid(f"{where} must be an object.")
            method, path, elements = item.get("method"), item.get("path"), item.get("dataElements")
            if method not in RDT_METHODS:
                raise invalid(f"{where}.method must be one of DELETE, GET, POST, PUT.")
            if not isinstance(path, str) or not path.startswith("/"):
                raise invalid(f"{where}.path must be a path starting with '/'.")
            if elements is not None and (
                not isinstance(elements, list)
                or not all(isinstance(e, str) and e in RDT_DATA_ELEMENTS for e in elements)
            ):
                raise invalid(f"{where}.dataElements may contain only buyerInfo, shippingAddress, buyerTaxInformation.")
            resources.append((method, path))
        return resources

    # ------------------------------------------------------------------ control API

    @staticmethod
    def _control_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
        if optional and not request.get_data(cache=True):
            return {}
        try:
            body = json.loads(request.get_data(cache=True))
        except ValueError:
            raise _Reply(_json({"error": "The request body must be JSON."}, 400)) from None
        if not isinstance(body, dict):
            raise _Reply(_json({"error": "The request body must be a JSON object."}, 400))
        return body

    @staticmethod
    def _control_string(body: dict[str, Any], name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise _Reply(_json({"error": f"{name} must be a non-empty string."}, 400))
        return value

    def _control_revoke(self, request: Request) -> Response:
        seller = self._control_string(self._control_body(request), "selling_partner_id")
        return _json({"revoked": self.revoke(seller)})

    def _control_client_secret(self, request: Request) -> Response:
        valid = self._control_body(request).get("valid")
        if not isinstance(valid, bool):
            return _json({"error": "valid must be true or false."}, 400)
        self.set_client_secret_valid(valid)
        return _json({"valid": valid})

    def _control_fault(self, request: Request) -> Response:
        body = self._control_body(request)
        options = {name: body[name] for name in ("latency_ms", "status", "hang", "count", "error") if name in body}
        if options.get("latency_ms") is None:
            options["latency_ms"] = 0
        if not isinstance(options.get("hang", False), bool):
            return _json({"error": "hang must be true or false."}, 400)
        try:
            self.set_fault(self._control_string(body, "endpoint"), **options)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"endpoint": body["endpoint"], **options})

    def _control_reset(self, request: Request) -> Response:
        self._control_body(request, optional=True)
        self.reset()
        return _json({"reset": True})

    def _control_calls(self, request: Request) -> Response:
        return _json(self.calls())

    def _control_calls_reset(self, request: Request) -> Response:
        self._control_body(request, optional=True)
        self.reset_calls()
        return _json(self.calls())

    def _control_code(self, request: Request) -> Response:
        body = self._control_body(request)
        seller = self._control_string(body, "selling_partner_id")
        redirect_uri = self._control_string(body, "redirect_uri")
        try:
            return _json({"code": self.issue_code(seller, redirect_uri)})
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)

    def _control_account(self, request: Request) -> Response:
        seller = request.args.get("selling_partner_id", "")
        described = self.account(seller) if seller else None
        if described is None:
            return _json({"error": "no account for that selling_partner_id."}, 404)
        return _json(described)

    def _control_set_account(self, request: Request) -> Response:
        body = self._control_body(request)
        seller = self._control_string(body, "selling_partner_id")
        unknown = sorted(set(body) - {"selling_partner_id", "store_name", "marketplaces", "account_type"})
        if unknown:
            return _json({"error": f"unknown field: {unknown[0][:64]}"}, 400)
        try:
            return _json(
                self.set_account(
                    seller,
                    store_name=body.get("store_name"),
                    marketplaces=body.get("marketplaces"),
                    account_type=body.get("account_type"),
                )
            )
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)

    def _control_roles(self, request: Request) -> Response:
        granted = self._control_body(request).get("sellers_api")
        if not isinstance(granted, bool):
            return _json({"error": "sellers_api must be true or false."}, 400)
        self.set_sellers_role(granted)
        return _json({"sellers_api": granted})

    def _control_refresh_tokens(self, request: Request) -> Response:
        seller = request.args.get("selling_partner_id", "")
        if not seller:
            return _json({"error": "selling_partner_id is required."}, 400)
        return _json({"refresh_tokens": self.refresh_tokens(seller)})
