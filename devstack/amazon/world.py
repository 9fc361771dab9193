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
)

SELLING_PARTNER_ID = re.compile(r"[A-Z0-9]{8,20}")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ALPHABET = string.ascii_letters + string.digits

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
ACCOUNT_TYPES = ("seller", "vendor")


def new_selling_partner_id() -> str:
    """A fresh id shaped like Amazon's examples: "A" and 13 of [A-Z0-9]."""
    return "A" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


@dataclass(slots=True)
class Application:
    """The one application registered in this world, as its developer configured it in Developer Central."""

    client_id: str
    client_secret: str
    application_id: str
    redirect_uris: list[str]
    is_draft: bool


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
    # inferred: a store name of its own, so that two simulated sellers are visibly different accounts.
    # One host serves every region here, so a new account sells in the US until told otherwise.
    return Account(f"Simulated store {selling_partner_id}", DEFAULT_MARKETPLACES)


@dataclass(slots=True)
class AccessToken:
    kind: str  # "seller" (Atza), "grantless" (Atc) or "rdt" (Atz.sprdt)
    selling_partner_id: str | None
    expires_at: float
    resources: tuple[tuple[str, str], ...] = ()


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
        self.lwa_rate_limit: RateLimit | None = None  # LWA's throttling, when a test or `make run` sets one
        self._accounts: dict[str, Account] = {}
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
        return client_ok and secret_match and secret_ok

    def set_client_secret_valid(self, valid: bool) -> None:
        with self.lock:
            self.secret_valid = bool(valid)

    def set_sellers_role(self, granted: bool) -> None:
        with self.lock:
            self.sellers_role = bool(granted)

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
            raise ValueError("selling_partner_id must match [A-Z0-9]{8,20}")
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
        return grant.selling_partner_id

    def new_refresh_token(self, selling_partner_id: str) -> str:
        refresh_token = "Atzr|" + secrets.token_urlsafe(300)
        with self.lock:
            self._refresh[refresh_token] = selling_partner_id
        return refresh_token

    def use_refresh_token(self, refresh_token: str) -> tuple[str, str] | None:
        """(selling partner, refresh token to answer) for a live refresh token, else None."""
        with self.lock:
            seller = self._refresh.get(refresh_token)
            if seller is not None and self.rotate_refresh_tokens:
                refresh_token = "Atzr|" + secrets.token_urlsafe(300)
                self._refresh[refresh_token] = seller
        return None if seller is None else (seller, refresh_token)

    def refresh_tokens(self, selling_partner_id: str) -> list[str]:
        with self.lock:
            return [tok for tok, seller in self._refresh.items() if seller == selling_partner_id]

    def issue_access(self, prefix: str, kind: str, seller: str | None, ttl: int, resources=()) -> str:
        token = prefix + secrets.token_urlsafe(225)
        with self.lock:
            now = self.clock()
            if len(self._access) >= self._prune_at:  # keep long benchmarks from growing without bound
                for tok in [t for t, rec in self._access.items() if rec.expires_at < now - 3600]:
                    del self._access[tok]
                self._prune_at = max(100_000, 2 * len(self._access))
            self._access[token] = AccessToken(kind, seller, now + ttl, tuple(resources))
        return token

    def access_token(self, token: str) -> tuple[AccessToken | None, bool, float]:
        """The token's record (if any), whether the app's client secret is still valid, and now."""
        with self.lock:
            return (self._access.get(token) if token else None), self.secret_valid, self.clock()


def _describe(selling_partner_id: str, account: Account) -> dict[str, Any]:
    return {
        "selling_partner_id": selling_partner_id,
        "store_name": account.store_name,
        "marketplaces": list(account.marketplaces),
        "account_type": account.account_type,
    }
