"""The vend contract: every `errorType` the vend function answers with, defined here once.

Lambda reports an exception's class name as its `errorType`, so each contract class is named after its
wire name (tests/unit/test_contract.py holds them equal). Each class carries what it means, what the
caller should do, whether a retry can help and the `sellertoken` CLI's exit code; the README's table,
the client library's exception classes and the CLI's exit codes are checked against this module.

Everything else the broker raises (ConfigurationError, InvalidGrant, a botocore error, a bug) is
internal: the vend handler turns any failure into exactly one contract class with `closed()`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

MAX_ECHO = 64  # characters of a caller's or Amazon's text an error message may repeat


class SellerTokenError(Exception):
    """Base of every error the broker raises on purpose. Messages never hold a token or a secret."""


class ContractError(SellerTokenError):
    """An errorType of the vend contract (the classes below; never raised as such)."""

    error_type: ClassVar[str]
    meaning: ClassVar[str]
    action: ClassVar[str]
    retryable: ClassVar[bool]
    exit_code: ClassVar[int]


class InvalidRequest(ContractError):
    error_type = "InvalidRequest"
    meaning = (
        "The payload is malformed (the message names the field), or Amazon refused what it asks for: "
        "SP-API refused the Restricted Data Token for these resources, or LWA refused the grantless scope."
    )
    action = "Fix the call. The same payload fails the same way: do not retry it."
    retryable = False
    exit_code = 3


class GrantNotFound(ContractError):
    error_type = "GrantNotFound"
    meaning = "No grant is stored for this seller in this region."
    action = "Send the seller through `/authorize`. Do not retry."
    retryable = False
    exit_code = 4


class GrantRevoked(ContractError):
    error_type = "GrantRevoked"
    meaning = (
        "The seller removed the application or its authorization expired (LWA `invalid_grant`); "
        "the grant is flagged revoked and a `Seller Grant Revoked` event was emitted."
    )
    action = "Ask the seller to authorize again. Do not retry."
    retryable = False
    exit_code = 5


class AppCredentialsRejected(ContractError):
    error_type = "AppCredentialsRejected"
    meaning = (
        "Amazon rejected the application's own credentials (LWA `invalid_client`, or `unauthorized_client` "
        "when a grantless call for the application is refused too, or SP-API says the LWA secret expired). "
        "No seller is at fault and none is flagged."
    )
    action = (
        "Do not retry until it is fixed: the broker's operators are alarmed (`AppCredentialsRejected`) "
        "and fix or rotate the `{prefix}/app` secret."
    )
    retryable = False
    exit_code = 6


class UpstreamUnavailable(ContractError):
    error_type = "UpstreamUnavailable"
    meaning = (
        "Amazon (LWA, SP-API) or an AWS service the broker uses (Secrets Manager, DynamoDB, KMS, EventBridge) "
        "failed transiently (5xx, throttling, a timeout) after the broker's own retries, or did not answer "
        "before the function's deadline."
    )
    action = (
        "Retry with exponential backoff and jitter (Step Functions: `Retry` on it with IntervalSeconds 2, "
        "BackoffRate 2, MaxAttempts 5); alert only if it lasts."
    )
    retryable = True
    exit_code = 7


class BrokerFault(ContractError):
    error_type = "BrokerFault"
    meaning = (
        "The broker itself cannot serve: its deployment is misconfigured (a missing or malformed app secret "
        "or setting, a denied permission, a disabled KMS key, a missing table), Amazon answered something it "
        "does not act on (an LWA error code other than the above), LWA refused this one grant's refresh token "
        "for the application (`unauthorized_client` while the application's own grantless call works: the "
        "grant's health is `unauthorized` and the seller must authorize again), or it hit an unexpected error "
        "(a bug). The message says which."
    )
    action = (
        "Do not retry soon: the same call fails the same way until an operator acts. Alert the broker's "
        "operators (the stack alarms on its `BrokerFault` metric)."
    )
    retryable = False
    exit_code = 8


CONTRACT: tuple[type[ContractError], ...] = (
    InvalidRequest,
    GrantNotFound,
    GrantRevoked,
    AppCredentialsRejected,
    UpstreamUnavailable,
    BrokerFault,
)


# -- internal errors --------------------------------------------------------------------------------


class ConfigurationError(SellerTokenError):
    """A setting or the app secret is missing or malformed; names the variable or secret. Reaches a
    caller as BrokerFault."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class LwaError(BrokerFault):
    """LWA refused a request with an error code the broker does not act on; keeps Amazon's code."""

    def __init__(self, error_code: str, status: int) -> None:
        super().__init__(f"LWA answered {status} {error_code}")
        self.error_code = error_code
        self.status = status


class InvalidClient(AppCredentialsRejected):
    """LWA invalid_client: it did not accept the client secret sent (wrong, expired, or rotated away); the
    caller may try the app's other secret during a rotation's overlap (lwa.py). Reaches a caller as
    AppCredentialsRejected."""


class ClientUnauthorized(AppCredentialsRejected):
    """LWA `unauthorized_client`. On a refresh it may concern one grant (a refresh token of another client id)
    rather than the application: the caller asks LWA about the application itself before believing it.
    Reaches a caller as AppCredentialsRejected."""


class GrantUnauthorized(BrokerFault):
    """LWA refused one grant's refresh token for this application (`unauthorized_client`) while accepting the
    application itself: that grant is unusable until the seller authorizes again. Reaches a caller as
    BrokerFault; the grant's health says `unauthorized`."""


class InvalidGrant(LwaError):
    """LWA invalid_grant: on a refresh the grant is gone; on a code exchange the code is expired or used."""

    def __init__(self, status: int = 400) -> None:
        super().__init__("invalid_grant", status)


# AWS error codes that say "try again": throttling and the services' own 5xx codes (botocore's
# standard retry mode retries these too; they reach us once its attempts are spent).
AWS_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "KMSThrottlingException",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalFailure",
        "InternalServiceError",
        "InternalServerError",
        "InternalException",
        "KMSInternalException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def closed(error: BaseException) -> ContractError:
    """The contract error a failure reaches the caller as: an instance of exactly one CONTRACT class,
    whose message holds nothing but the broker's own words and bounded, printable codes."""
    if isinstance(error, ContractError):
        wire = next(cls for cls in CONTRACT if isinstance(error, cls))
        return error if type(error) is wire else wire(str(error))
    if isinstance(error, ConfigurationError):
        return BrokerFault(f"the broker is misconfigured: {error}")
    mapped = from_aws(error)
    if mapped is not None:
        return mapped
    return BrokerFault(f"internal error ({type(error).__name__})")


def from_aws(error: BaseException) -> ContractError | None:
    """What a botocore error means for a caller (None: not a botocore error). Transient codes and 5xx
    are UpstreamUnavailable; any other refusal of a call the broker makes (AccessDenied, a KMS key
    that is disabled, a missing table, a validation error) is the broker's own fault."""
    if isinstance(error, ClientError):
        code = echo(str(error.response.get("Error", {}).get("Code") or "unknown"))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        where = echo(error.operation_name or "a call")
        if code in AWS_TRANSIENT_CODES or status >= 500 or status == 429:
            return UpstreamUnavailable(f"AWS answered {code} to {where} after retries")
        return BrokerFault(f"AWS refused {where}: {code}")
    if isinstance(error, HTTPClientError | ConnectionError):  # timeouts, refused or reset connections
        return UpstreamUnavailable(f"AWS did not answer ({type(error).__name__})")
    if isinstance(error, BotoCoreError):  # no credentials, a parameter botocore refuses, …
        return BrokerFault(f"AWS client error ({type(error).__name__})")
    return None


def request_object(payload: object, fields: Collection[str]) -> Mapping[str, Any]:
    """An operator's request (the ops and rotation functions): a JSON object holding no field but `fields`;
    else InvalidRequest naming the first unknown one."""
    if not isinstance(payload, Mapping):
        raise InvalidRequest("the request must be a JSON object")
    unknown = sorted(str(k) for k in set(payload) - set(fields))
    if unknown:
        raise InvalidRequest(f"unknown field: {unknown[0][:64]}")
    return payload


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """Outside text fit to repeat in a message: printable ASCII only, at most `limit` characters."""
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
