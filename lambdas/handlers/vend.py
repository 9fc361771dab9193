"""The vend function (direct Lambda invoke): JSON in, a token out, or one of the contract's errorTypes.

The invocation's deadline comes from the Lambda context, and every failure leaves as exactly one
class of the vend contract (errors.CONTRACT), so that callers' Retry/Catch on the documented names
see everything and no answer is Lambda's own timeout.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import deadline, names
from sellertoken.config import get_config
from sellertoken.errors import AppCredentialsRejected, BrokerFault, ConfigurationError, ContractError, closed
from sellertoken.observability import count, logger, metrics
from sellertoken.vending import Vendor, VendRequest, parse_request

try:
    get_config()  # fail at cold start, naming the variable, when misconfigured
except ConfigurationError as problem:
    # Raised here, Lambda would report it under its own class name, outside the contract: say it
    # loudly now, and answer every invocation with BrokerFault naming the variable (vendor() raises it).
    logger.error("the vend function is misconfigured", extra={"problem": str(problem)})


@functools.cache
def vendor() -> Vendor:
    return Vendor(get_config())


@metrics.log_metrics
@deadline.bounded
def handler(event: dict, context: LambdaContext) -> dict:
    return answer(event, vendor)


def answer(event: object, vendor_of: Callable[[], Vendor] = vendor) -> dict:
    """Parse and vend; any failure is raised as its contract error, logged and counted."""
    request: VendRequest | None = None
    try:
        request = parse_request(event)
        return vendor_of().vend(request)
    except Exception as error:  # noqa: BLE001 - the contract is closed: every failure leaves as one of its types
        failure = closed(error)
        _record(failure, error, request)
        raise failure from None


def _record(failure: ContractError, cause: Exception, request: VendRequest | None) -> None:
    if isinstance(failure, AppCredentialsRejected):
        count(names.METRIC_APP_CREDENTIALS_REJECTED)  # the alarm: our client secret, not a seller
    if isinstance(failure, BrokerFault):
        count(names.METRIC_BROKER_FAULT)  # the alarm: the broker's configuration or code
    # The contract's messages are the broker's own words; the cause's text could hold anything, so
    # only its type is logged.
    logger.warning(
        "vend failed",
        extra={
            "error_type": failure.error_type,
            "cause": type(cause).__name__,
            "reason": str(failure),
            "selling_partner_id": request.selling_partner_id if request else None,
            "region": request.region if request else None,
        },
    )
