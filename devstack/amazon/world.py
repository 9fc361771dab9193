"""The simulated world's state: the application, selling partners and their accounts, one-time codes,
refresh and access tokens, injected faults, call counters and the clock.

Every concern (consent.py, lwa.py, spapi.py, control.py) reads and changes Amazon only through this
object, under its one lock; none keeps state of its own. New state (another application fact, a queue
Amazon writes to) belongs here, with the source of the behaviour it models.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devstack.amazon.faults import Faults

if TYPE_CHECKING:
    from devstack.amazon.lwa import RateLimit

COUNTERS = (
    "token.authorization_code",
    "token.refresh_token",
    "token.client_credentials",
    "token.error",
    "token.throttled",  # answered 429 by the LWA rate limit (lwa.RateLimit); counted in token.error too
    "sellers.marketplaceParticipations",
    "tokens.restrictedDataToken",
    "orders.getOrders",
    "consent",
    "consent.confirm",
    "consent.cancel",
    "token.invalid_client",
    "token.replaced_secret",  # a token request authenticated with a replaced secret inside its overlap
    "applications.rotateApplicationClientSecret",
    "notifications.sent",
    "notifications.undelivered",
    "consent.appstore",
    "consent.manage",
    "consent.login_uri",
)

# The two forms of selling_partner_id Amazon issues (reference "Identifier and token formats"). Defined here
# apart from the broker's check (sellertoken.names) on purpose: a simulator that borrowed the broker's pattern
# would agree with any mistake in it, as both once agreed on [A-Z0-9]{8,20}, which refused every vendor.
# source(ids.seller): DEVGUIDE-2021 and MODELS examples (A3FHEXAMPLEYWS, A3TH9S8BH6GOGM): "A", capital letters and
# digits, 13-14 long in every example (shorter and longer ones are accepted when typed: inferred)
SELLER_ID = re.compile(r"A[A-Z0-9]{7,19}")
# source(ids.vendor): selling-partner-api-models#2397 ("amzn1.vg.xxxxx"); 7 digits in public code (amzn1.vg.2072811)
VENDOR_ID = re.compile(r"amzn1\.vg\.[0-9]{1,20}")
SELLER, VENDOR = "seller", "vendor"
SELLING_PARTNER_ID = re.compile(f"{SELLER_ID.pattern}|{VENDOR_ID.pattern}")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ALPHABET = string.ascii_letters + string.digits

# source(sellers.marketplaces): getMarketplaceParticipations' marketplace objects (models/sellers-api-model/
# sellers.json @34dc93f: the US entry is the model's own example; ids from developer-docs.amazon.com/sp-api/docs/
# marketplace-ids; the other names, currencies, languages and domains are inferred from each marketplace's site).
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
AMAZON_STATE_TTL_SECONDS = 600
ACCOUNT_TYPES = (SELLER, VENDOR)


def new_selling_partner_id() -> str:
    """A fresh seller id shaped like Amazon's examples: "A" and 13 of [A-Z0-9]."""
    return "A" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


def new_vendor_id() -> str:
    """A fresh vendor group id: "amzn1.vg." and 7 digits, as in public code."""
    return "amzn1.vg." + str(secrets.randbelow(9_000_000) + 1_000_000)


def account_type_of(selling_partner_id: str) -> str:
    """Amazon's two id forms belong to the two kinds of account."""
    return VENDOR if VENDOR_ID.fullmatch(selling_partner_id) else SELLER


@dataclass(slots=True)
class Application:
    """The one application registered in this world, as its developer configured it in Developer Central."""

    client_id: str
    client_secret: str
    application_id: str
    redirect_uris: list[str]
    is_draft: bool
    # source(app.login-uri): DEVGUIDE-2021 "Registering your application": the OAuth Login URI, which Amazon loads
    # when an authorization starts at Amazon (Appstore, Manage Your Apps)
    login_uri: str | None = None


@dataclass(slots=True)
class Behaviour:
    """Switches between behaviours the sources leave open; each default is the documented (or most
    reported) one, and docs/simulator.md says where each comes from."""

    website_login_hop: bool = False  # website flows too go through the Login URI (reported for Draft apps)
    relative_callback_uri: bool = False  # amazon_callback_uri as a bare path (reported intermittently)
    cancel_redirects: bool = False  # Cancel sends error=access_denied to the app (generic OAuth; undocumented)


@dataclass(slots=True)
class AmazonState:
    """What Amazon remembers of a flow it sent through the app's Login URI."""

    selling_partner_id: str
    site: str
    beta: bool  # the flow tests a Draft app: version=beta travels with it
    expires_at: float


@dataclass(slots=True)
class _Code:
    selling_partner_id: str
    redirect_uri: str
    expires_at: float


@dataclass(slots=True)
class Account:
    """What Amazon knows of a selling partner's account and shows through the Sellers API."""

    store_name: str
    marketplaces: tuple[str, ...]
    account_type: str = "seller"


def default_account(selling_partner_id: str) -> Account:
    # inferred(accounts.default): a store name of its own, so that two simulated sellers are visibly different
    # accounts. One host serves every region here, so a new account sells in the US until told otherwise.
    return Account(f"Simulated store {selling_partner_id}", DEFAULT_MARKETPLACES, account_type_of(selling_partner_id))


@dataclass(slots=True)
class AccessToken:
    kind: str  # "seller" (Atza), "grantless" (Atc) or "rdt" (Atz.sprdt)
    selling_partner_id: str | None
    expires_at: float
    resources: tuple[tuple[str, str], ...] = ()
    scopes: tuple[str, ...] = ()  # a grantless token's


class World:
    def __init__(
        self,
        app: Application,
        *,
        code_ttl_seconds: int,
        access_token_ttl_seconds: int,
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.code_ttl_seconds = code_ttl_seconds
        self.access_token_ttl_seconds = access_token_ttl_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.faults = Faults(self.lock, self.stopping)
        # The client secret's lifecycle (clientsecret.py) plugs in here: a replaced secret still inside
        # Amazon's overlap authenticates, and a secret past its 180 days makes SP-API refuse the app.
        self.accepts_replaced_secret: Callable[[str], bool] = lambda secret: False
        self.secret_expired: Callable[[], bool] = lambda: False
        self._init_state()

    def _init_state(self) -> None:
        self.faults.clear_all()
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> selling partner id, in issue order
        self._access: dict[str, AccessToken] = {}
        self._calls: Counter[str] = Counter()
        self.secret_valid = True
        self.rotate_refresh_tokens = False
        self.sellers_role = True  # the app holds a role the Sellers API accepts
        # The restricted data elements the app's roles cover (tokens_2021-03-01.json's three): all, until a test
        # takes some away.
        self.data_elements: frozenset[str] = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
        self._mismatched: set[str] = set()  # refresh tokens LWA says belong to another client id
        self.lwa_rate_limit: RateLimit | None = None  # LWA's throttling, when a test or `make run` sets one
        self._accounts: dict[str, Account] = {}
        self._authorized_at: dict[str, float] = {}  # selling partner -> their latest consent (a code exchanged)
        self._amazon_states: dict[str, AmazonState] = {}
        self.behaviour = Behaviour()
        self._prune_at = 100_000

    def reset(self) -> None:
        with self.lock:
            self._init_state()

    def stop(self) -> None:
        """Release every hanging request: the server is going down."""
        self.stopping.set()
        with self.lock:
            self.faults.clear_all()

    # ------------------------------------------------------------------ call counters

    def count(self, name: str) -> None:
        with self.lock:
            self._calls[name] += 1

    def calls(self) -> dict[str, int]:
        with self.lock:
            return {name: self._calls.get(name, 0) for name in COUNTERS}

    def reset_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    # ------------------------------------------------------------------ the application

    def client_authenticates(self, client_id: str, client_secret: str) -> bool:
        with self.lock:
            secret_ok = self.secret_valid
        client_ok = secrets.compare_digest(client_id.encode(), self.app.client_id.encode())
        secret_match = secrets.compare_digest(client_secret.encode(), self.app.client_secret.encode())
        return client_ok and (secret_match or self.accepts_replaced_secret(client_secret)) and secret_ok

    def set_client_secret_valid(self, valid: bool) -> None:
        with self.lock:
            self.secret_valid = bool(valid)

    def set_sellers_role(self, granted: bool) -> None:
        with self.lock:
            self.sellers_role = bool(granted)

    def set_data_elements(self, elements: list[str] | tuple[str, ...]) -> None:
        allowed = {"buyerInfo", "shippingAddress", "buyerTaxInformation"}
        if not isinstance(elements, list | tuple) or not set(elements) <= allowed:
            raise ValueError(f"data_elements must be a list of: {', '.join(sorted(allowed))}")
        with self.lock:
            self.data_elements = frozenset(elements)

    def set_client_mismatch(self, selling_partner_id: str, mismatch: bool = True) -> None:
        """The partner's refresh tokens issued so far belong (or no longer belong) to another client id; a new
        consent gives them one of this application's."""
        with self.lock:
            tokens = {tok for tok, seller in self._refresh.items() if seller == selling_partner_id}
            self._mismatched = self._mismatched | tokens if mismatch else self._mismatched - tokens

    def client_mismatch(self, refresh_token: str) -> bool:
        with self.lock:
            return refresh_token in self._mismatched

    def set_refresh_token_rotation(self, rotate: bool) -> None:
        with self.lock:
            self.rotate_refresh_tokens = bool(rotate)

    # ------------------------------------------------------------------ selling partners and their accounts

    def set_account(
        self,
        selling_partner_id: str,
        *,
        store_name: str | None = None,
        marketplaces: list[str] | tuple[str, ...] | None = None,
        account_type: str | None = None,
    ) -> dict[str, Any]:
        if not SELLING_PARTNER_ID.fullmatch(selling_partner_id):
            raise ValueError("selling_partner_id must be a seller's (A…) or a vendor's (amzn1.vg.…) id")
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
        with self.lock:
            account = self._accounts.setdefault(selling_partner_id, default_account(selling_partner_id))
            if store_name is not None:
                account.store_name = store_name
            if marketplaces is not None:
                account.marketplaces = tuple(dict.fromkeys(marketplaces))
            if account_type is not None:
                account.account_type = account_type
            return _describe(selling_partner_id, account)

    def account(self, selling_partner_id: str) -> dict[str, Any] | None:
        with self.lock:
            account = self._accounts.get(selling_partner_id)
            return None if account is None else _describe(selling_partner_id, account)

    def account_for(self, selling_partner_id: str | None) -> Account:
        """The account a token's selling partner sees (a default one if Amazon never showed it)."""
        with self.lock:
            return self._accounts.get(selling_partner_id or "") or default_account(selling_partner_id or "")

    def revoke(self, selling_partner_id: str) -> int:
        # source(revoke): the seller removes the app (DOCS revoke-authorizations): every refresh token of theirs then
        # gets invalid_grant (SAMPLES reminderManager.js); their access tokens and unused codes stop too (inferred)
        with self.lock:
            dead = [tok for tok, seller in self._refresh.items() if seller == selling_partner_id]
            for tok in dead:
                del self._refresh[tok]
            for tok in [t for t, rec in self._access.items() if rec.selling_partner_id == selling_partner_id]:
                del self._access[tok]
            for code in [c for c, rec in self._codes.items() if rec.selling_partner_id == selling_partner_id]:
                del self._codes[code]
        return len(dead)

    # ------------------------------------------------------------------ codes and tokens

    def issue_code(self, selling_partner_id: str, redirect_uri: str) -> str:
        if not SELLING_PARTNER_ID.fullmatch(selling_partner_id):
            raise ValueError("selling_partner_id must be a seller's (A…) or a vendor's (amzn1.vg.…) id")
        # source(lwa.code): spapi_oauth_code lives 5 minutes and works once, for the redirect_uri it was issued for
        # (DEVGUIDE-2021; docs#268, models#4112); its "ANDL…" look is inferred (codes are opaque)
        code = "ANDL" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(24))
        with self.lock:
            expires_at = self.clock() + self.code_ttl_seconds
            self._codes[code] = _Code(selling_partner_id, redirect_uri, expires_at)
            self._accounts.setdefault(selling_partner_id, default_account(selling_partner_id))
        return code

    def redeem_code(self, code: str, redirect_uri: str) -> str | None:
        """The selling partner a live code was issued to for `redirect_uri`; any attempt uses the code up."""
        with self.lock:
            grant = self._codes.pop(code, None)
            now = self.clock()
            if grant is None or grant.expires_at <= now or grant.redirect_uri != redirect_uri:
                return None
            self._authorized_at[grant.selling_partner_id] = now
        return grant.selling_partner_id

    def authorized_at(self, selling_partner_id: str) -> float | None:
        """When the partner last authorized the app, while they still have it authorized (Manage Your Apps)."""
        with self.lock:
            if selling_partner_id not in self._refresh.values():
                return None
            return self._authorized_at.get(selling_partner_id)

    # ------------------------------------------------------------------ flows through the app's Login URI

    def new_amazon_state(self, selling_partner_id: str, site: str, *, beta: bool) -> str:
        value = secrets.token_urlsafe(24)
        with self.lock:
            now = self.clock()
            for stale in [k for k, v in self._amazon_states.items() if v.expires_at <= now]:
                del self._amazon_states[stale]
            # inferred(consent.amazon-state-ttl): Amazon documents no lifetime for amazon_state; 10 minutes, like
            # the app's own state in Amazon's sample (15) and the broker (10)
            self._amazon_states[value] = AmazonState(selling_partner_id, site, beta, now + AMAZON_STATE_TTL_SECONDS)
        return value

    def take_amazon_state(self, value: str, site: str) -> AmazonState | None:
        """The flow `value` names, used up; None when unknown, used, expired or begun on the other site."""
        with self.lock:
            found = self._amazon_states.get(value)
            if found is None or found.site != site:
                return None
            del self._amazon_states[value]
            return found if found.expires_at > self.clock() else None

    def set_behaviour(self, **switches: bool) -> dict[str, bool]:
        unknown = sorted(set(switches) - set(Behaviour.__slots__))
        if unknown:
            raise ValueError(f"unknown switch: {unknown[0][:64]}")
        if any(not isinstance(v, bool) for v in switches.values()):
            raise ValueError("each switch must be true or false")
        with self.lock:
            for name, value in switches.items():
                setattr(self.behaviour, name, value)
            return {name: getattr(self.behaviour, name) for name in Behaviour.__slots__}

    def new_refresh_token(self, selling_partner_id: str) -> str:
        # source(tokens.formats): refresh tokens Atzr|…, access tokens Atza|… (DEVGUIDE-2021), grantless Atc|…
        # (docs#432), RDTs Atz.sprdt|… (MODELS tokens examples); opaque, at most 2048 bytes
        # inferred(lwa.renewal-keeps-old-token): a new consent issues a new refresh token and the older ones keep
        # working until revoked (the reference marks this UNCONFIRMED; self-authorization is documented so)
        refresh_token = "Atzr|" + secrets.token_urlsafe(300)
        with self.lock:
            self._refresh[refresh_token] = selling_partner_id
        return refresh_token

    def use_refresh_token(self, refresh_token: str) -> tuple[str, str] | None:
        """(selling partner, refresh token to answer) for a live refresh token, else None."""
        with self.lock:
            seller = self._refresh.get(refresh_token)
            # source(lwa.refresh-no-rotation): a refresh answers "the LWA refresh token that you submitted"
            # (DEVGUIDE-2021); inferred(lwa.rotation-switch): the switch answers a new one, which Amazon's sample
            # defends against (SAMPLES index.js /oauth/refresh) and so does the broker
            if seller is not None and self.rotate_refresh_tokens:
                refresh_token = "Atzr|" + secrets.token_urlsafe(300)
                self._refresh[refresh_token] = seller
        return None if seller is None else (seller, refresh_token)

    def refresh_tokens(self, selling_partner_id: str) -> list[str]:
        with self.lock:
            return [tok for tok, seller in self._refresh.items() if seller == selling_partner_id]

    def issue_access(self, prefix: str, kind: str, seller: str | None, ttl: int, resources=(), scopes=()) -> str:
        token = prefix + secrets.token_urlsafe(225)
        with self.lock:
            now = self.clock()
            if len(self._access) >= self._prune_at:  # keep long benchmarks from growing without bound
                for tok in [t for t, rec in self._access.items() if rec.expires_at < now - 3600]:
                    del self._access[tok]
                self._prune_at = max(100_000, 2 * len(self._access))
            self._access[token] = AccessToken(kind, seller, now + ttl, tuple(resources), tuple(scopes))
        return token

    def access_token(self, token: str) -> tuple[AccessToken | None, bool, float]:
        """The token's record (if any), whether the app's client secret is still valid, and now."""
        expired = self.secret_expired()
        with self.lock:
            return (self._access.get(token) if token else None), self.secret_valid and not expired, self.clock()


def _describe(selling_partner_id: str, account: Account) -> dict[str, Any]:
    return {
        "selling_partner_id": selling_partner_id,
        "store_name": account.store_name,
        "marketplaces": list(account.marketplaces),
        "account_type": account.account_type,
    }
