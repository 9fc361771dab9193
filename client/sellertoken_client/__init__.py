"""Client of the sellertoken broker: SP-API tokens from its vend Lambda, never a refresh token.

from sellertoken_client import TokenBroker
token = TokenBroker("sellertoken-vend").get_access_token("A1B2C3D4E5F6G7", "na")
"""

from sellertoken_client.broker import Token, TokenBroker, default_broker, get_access_token
from sellertoken_client.errors import (
    AppCredentialsRejected,
    BrokerError,
    BrokerFault,
    GrantNotFound,
    GrantRevoked,
    InvalidRequest,
    SellerTokenError,
    UpstreamUnavailable,
)

__all__ = [
    "AppCredentialsRejected",
    "BrokerError",
    "BrokerFault",
    "GrantNotFound",
    "GrantRevoked",
    "InvalidRequest",
    "SellerTokenError",
    "Token",
    "TokenBroker",
    "UpstreamUnavailable",
    "default_broker",
    "get_access_token",
]
