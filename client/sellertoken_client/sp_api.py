"""python-amazon-sp-api with tokens from the broker (`pip install "sellertoken-client[sp-api]"`).

The library builds its token client as `auth_token_client_class(refresh_token=…, credentials=…, proxies=…,
verify=…)` and asks it `get_auth()` before each call (`get_grantless_auth(scope)` for grantless operations).
`BrokerAccessTokenClient` answers both from the broker, so no refresh token is needed on this side:

    from sp_api.api import Sellers
    from sellertoken_client.sp_api import broker_client

    sellers = broker_client(Sellers, selling_partner_id="A1B2C3D4E5F6G7", region="na")
    sellers.get_marketplace_participation()

or, with the library's own constructor (it insists on LWA credentials: BROKER_CREDENTIALS are placeholders
that are never sent anywhere):

    Sellers(Marketplaces.US, credentials=BROKER_CREDENTIALS,
            auth_token_client_class=broker_auth("A1B2C3D4E5F6G7", "na"))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.base import Marketplaces

from sellertoken_client import names
from sellertoken_client.broker import Token, TokenBroker, default_broker
from sellertoken_client.errors import InvalidRequest

# The library refuses to build a client without LWA credentials; the broker holds the real ones.
BROKER_CREDENTIALS = {"lwa_app_id": "held-by-sellertoken", "lwa_client_secret": "held-by-sellertoken"}
# A region's marketplace when none is given, and its AWS region (a marketplace names it): copies of the broker's
# region table (lambdas/sellertoken/regions.py), guarded by tests/unit/test_client_names.py.
DEFAULT_MARKETPLACES = {"na": Marketplaces.US, "eu": Marketplaces.DE, "fe": Marketplaces.JP}
AWS_REGIONS = {"na": "us-east-1", "eu": "eu-west-1", "fe": "us-west-2"}

ClientT = TypeVar("ClientT")


class BrokerAccessTokenClient(AccessTokenClient):
    """A drop-in `AccessTokenClient` whose tokens come from the broker, for one seller in one region.

    Without a seller it serves grantless operations only. Any refresh token or LWA credentials the library
    passes in are ignored: the broker owns them.
    """

    def __init__(
        self,
        refresh_token: str | None = None,
        credentials: Any = None,
        proxies: Any = None,
        verify: bool = True,
        *,
        broker: TokenBroker | None = None,
        selling_partner_id: str | None = None,
        region: str | None = None,
        min_ttl_seconds: int = 0,
    ) -> None:
        # AccessTokenClient.__init__ is skipped on purpose: it would keep LWA credentials and open an HTTP pool.
        self.broker = broker or default_broker()
        self.selling_partner_id = selling_partner_id
        self.region = region
        self.min_ttl_seconds = min_ttl_seconds

    def get_auth(self) -> AccessTokenResponse:
        if not self.selling_partner_id or not self.region:
            raise InvalidRequest("this client has no seller: give selling_partner_id and region for seller operations")
        token = self.broker.get_access_token(self.selling_partner_id, self.region, min_ttl_seconds=self.min_ttl_seconds)
        return _response(token)

    def get_grantless_auth(self, scope: str = "sellingpartnerapi::notifications") -> AccessTokenResponse:
        return _response(self.broker.get_grantless_token(scope, self.region))

    def authorize_auth_code(self, auth_code: str) -> dict:
        raise NotImplementedError("authorization codes are exchanged by the broker's consent flow (/callback)")


def broker_auth(
    selling_partner_id: str | None = None,
    region: str | None = None,
    *,
    broker: TokenBroker | None = None,
    min_ttl_seconds: int = 0,
) -> Callable[..., BrokerAccessTokenClient]:
    """What to pass as `auth_token_client_class=`: the library calls it with its usual arguments."""
    return functools.partial(
        BrokerAccessTokenClient,
        broker=broker,
        selling_partner_id=selling_partner_id,
        region=region,
        min_ttl_seconds=min_ttl_seconds,
    )


def broker_client(
    api_class: Callable[..., ClientT],
    selling_partner_id: str | None = None,
    region: str | None = None,
    *,
    broker: TokenBroker | None = None,
    marketplace: Marketplaces | None = None,
    endpoint: str | None = None,
    min_ttl_seconds: int = 0,
    **options: Any,
) -> ClientT:
    """An instance of `api_class` (Sellers, Orders, Notifications, …) that takes its tokens from the broker.

    `marketplace` defaults to the region's main one (US, DE, JP). `endpoint` replaces the marketplace's
    SP-API base URL (a sandbox, the local stack's simulator: `Token.endpoint`). Other options go to the
    library's constructor as they are.
    """
    if marketplace is None:
        if region not in DEFAULT_MARKETPLACES:
            raise InvalidRequest(f"{names.REGION_RULE} (or give a marketplace)")
        marketplace = DEFAULT_MARKETPLACES[region]
    elif region is not None and AWS_REGIONS.get(region) != marketplace.region:
        raise InvalidRequest(f"marketplace {marketplace.name} is not in region {region}")
    options.setdefault("credentials", BROKER_CREDENTIALS)
    client = api_class(
        marketplace,
        auth_token_client_class=broker_auth(selling_partner_id, region, broker=broker, min_ttl_seconds=min_ttl_seconds),
        **options,
    )
    if endpoint is not None:
        client.endpoint = endpoint.rstrip("/")  # type: ignore[attr-defined]
    return client


def _response(token: Token) -> AccessTokenResponse:
    return AccessTokenResponse(access_token=token.access_token, token_type="bearer", expires_in=token.expires_in)
