"""Amazon's official SDK (amzn-sp-api, package `spapi`) with tokens from the broker
(`pip install "sellertoken-client[sdk]"`).

Before every call the SDK's `ApiClient` sets the `x-amz-access-token` header from
`configuration.access_token_cache.get_lwa_access_token()`. `BrokerTokenCache` is that object, answered by
the broker; `broker_api_client()` builds the `ApiClient` around it:

    from spapi import SellersApi
    from sellertoken_client.sdk import broker_api_client

    sellers = SellersApi(broker_api_client("A1B2C3D4E5F6G7", "na"))
    sellers.get_marketplace_participations()

`SPAPIClient` (the SDK's own wrapper) is not needed: it exists to run the LWA refresh this replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spapi import ApiClient, Configuration

from sellertoken_client.broker import Token, TokenBroker, default_broker
from sellertoken_client.errors import InvalidRequest


class BrokerTokenCache:
    """The SDK's `access_token_cache`: one kind of token (seller, restricted or grantless) from the broker."""

    def __init__(
        self,
        selling_partner_id: str | None = None,
        region: str | None = None,
        *,
        broker: TokenBroker | None = None,
        restricted_resources: Sequence[Mapping[str, Any]] | None = None,
        target_application: str | None = None,
        scope: str | None = None,
        min_ttl_seconds: int = 0,
    ) -> None:
        if scope is None and (not selling_partner_id or not region):
            raise InvalidRequest("give selling_partner_id and region, or a grantless scope")
        if scope is not None and (selling_partner_id or restricted_resources):
            raise InvalidRequest("a grantless scope cannot be combined with a seller or restricted resources")
        self.broker = broker or default_broker()
        self.selling_partner_id = selling_partner_id
        self.region = region
        self.restricted_resources = list(restricted_resources or [])
        self.target_application = target_application
        self.scope = scope
        self.min_ttl_seconds = min_ttl_seconds

    def token(self) -> Token:
        if self.scope is not None:
            return self.broker.get_grantless_token(self.scope, self.region)
        assert self.selling_partner_id is not None and self.region is not None
        if self.restricted_resources:
            return self.broker.get_restricted_data_token(
                self.selling_partner_id, self.region, self.restricted_resources, self.target_application
            )
        return self.broker.get_access_token(self.selling_partner_id, self.region, min_ttl_seconds=self.min_ttl_seconds)

    def get_lwa_access_token(self) -> str:
        """What the SDK calls before each request (the broker's cache makes repeated calls cheap)."""
        return self.token().access_token


def broker_api_client(
    selling_partner_id: str | None = None,
    region: str | None = None,
    *,
    broker: TokenBroker | None = None,
    host: str | None = None,
    restricted_resources: Sequence[Mapping[str, Any]] | None = None,
    target_application: str | None = None,
    scope: str | None = None,
    min_ttl_seconds: int = 0,
) -> ApiClient:
    """An `ApiClient` for any of the SDK's API classes (`SellersApi(api_client)`, `OrdersV0Api(api_client)`, …).

    `host` defaults to the SP-API endpoint the broker reports for the region (the local stack's simulator
    when the broker is local); give it for a sandbox.
    """
    cache = BrokerTokenCache(
        selling_partner_id,
        region,
        broker=broker,
        restricted_resources=restricted_resources,
        target_application=target_application,
        scope=scope,
        min_ttl_seconds=min_ttl_seconds,
    )
    host = host or cache.token().endpoint
    if not host:
        raise InvalidRequest("no SP-API host: give host, or a region so that the broker names its endpoint")
    configuration = Configuration()
    configuration.host = host.rstrip("/")
    configuration.access_token_cache = cache
    return ApiClient(configuration=configuration)
