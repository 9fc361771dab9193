"""The vend function (direct Lambda invoke): JSON in, a token out, or a typed error (`errorType`)."""

from __future__ import annotations

import functools

from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import names
from sellertoken.config import get_config
from sellertoken.errors import AppCredentialsRejected
from sellertoken.observability import count, logger, metrics
from sellertoken.vending import Vendor, parse_request

get_config()  # fail at cold start, naming the variable, when misconfigured


@functools.cache
def vendor() -> Vendor:
    return Vendor(get_config())


@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    request = parse_request(event)
    try:
        return vendor().vend(request)
    except Exception as error:
        if isinstance(error, AppCredentialsRejected):
            count(names.METRIC_APP_CREDENTIALS_REJECTED)  # the alarm: our client secret, not a seller
        # The exception's class name is Lambda's errorType; its message never holds a token.
        logger.warning(
            "vend failed",
            extra={
                "error_type": type(error).__name__,
                "selling_partner_id": request.selling_partner_id,
                "region": request.region,
            },
        )
        raise
