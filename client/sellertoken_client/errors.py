"""The broker's errors on the caller's side: the vend function's `errorType`s mapped back to exceptions.

The names are the broker's own (the contract in lambdas/sellertoken/errors.py), so `except GrantRevoked`
reads the same on both sides and Step Functions' Retry/Catch names match. A copy, because this package
installs without the broker's code: tests/unit/test_contract.py fails the build when a name, a
`retryable` flag or a CLI exit code differs from the contract.
"""

from __future__ import annotations


class SellerTokenError(Exception):
    """Base of every error the client raises; `error_type` is Lambda's errorType (or the AWS error code).
    `retryable` says whether the same call may succeed later without anyone fixing anything."""

    error_type: str = "SellerTokenError"
    retryable: bool = False

    def __init__(self, message: str, *, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type or type(self).__name__


class InvalidRequest(SellerTokenError):
    """The request is malformed (the message names the field), or Amazon refused what it asks for: fix the call."""


class GrantNotFound(SellerTokenError):
    """No grant is stored for this seller in this region: send the seller through consent."""


class GrantRevoked(SellerTokenError):
    """The seller removed the application; re-authorization is needed."""


class AppCredentialsRejected(SellerTokenError):
    """Amazon rejected the application's own client id or secret: no seller is at fault; the operators fix it."""


class UpstreamUnavailable(SellerTokenError):
    """Amazon or an AWS service failed transiently, or did not answer in time: retry with backoff."""

    retryable = True


class BrokerFault(SellerTokenError):
    """The broker's own deployment or code is at fault (misconfiguration, a bug): alert its operators."""


class BrokerError(SellerTokenError):
    """Anything else: another errorType (e.g. Sandbox.Timedout), an AWS error invoking the function, a bad answer."""


BROKER_ERRORS: dict[str, type[SellerTokenError]] = {
    cls.__name__: cls
    for cls in (InvalidRequest, GrantNotFound, GrantRevoked, AppCredentialsRejected, UpstreamUnavailable, BrokerFault)
}


def from_function_error(document: object) -> SellerTokenError:
    """The exception for Lambda's error document `{"errorType": …, "errorMessage": …}`."""
    if not isinstance(document, dict):
        return BrokerError("the function failed without an error document", error_type="Unknown")
    error_type = str(document.get("errorType") or "Unknown")
    message = str(document.get("errorMessage") or error_type)
    return BROKER_ERRORS.get(error_type, BrokerError)(message, error_type=error_type)
