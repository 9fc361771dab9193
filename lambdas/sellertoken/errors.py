"""The broker's exceptions. Their class names are the Lambda `errorType`s of the vend contract."""

from __future__ import annotations


class SellerTokenError(Exception):
    """Base of every error the broker raises on purpose. Messages never hold a token or a secret."""


class ConfigurationError(SellerTokenError):
    """A setting is missing or malformed; raised at cold start and names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class InvalidRequest(SellerTokenError):
    """The caller's input is malformed; the message names the field."""


class GrantNotFound(SellerTokenError):
    """No grant is stored for this seller in this region."""


class GrantRevoked(SellerTokenError):
    """The seller removed the application (LWA answered invalid_grant); re-authorization is needed."""


class AppCredentialsRejected(SellerTokenError):
    """LWA rejected our own client id or secret (invalid_client, unauthorized_client): no seller at fault."""


class UpstreamUnavailable(SellerTokenError):
    """Amazon did not answer usefully (5xx, 429, timeout, connection error) even after retries."""


class LwaError(SellerTokenError):
    """Any other LWA error; keeps Amazon's error code."""

    def __init__(self, error_code: str, status: int) -> None:
        super().__init__(f"LWA answered {status} {error_code}")
        self.error_code = error_code
        self.status = status


class InvalidGrant(LwaError):
    """LWA invalid_grant: on a refresh the grant is gone; on a code exchange the code is expired or used."""

    def __init__(self, status: int = 400) -> None:
        super().__init__("invalid_grant", status)
