"""The ops function (direct invoke by an operator, e.g. `sellertoken grants restore`): one typed operation
on one grant, a JSON answer or a typed error (`errorType`)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import operations
from sellertoken.config import get_config
from sellertoken.observability import logger, metrics

get_config()  # fail at cold start, naming the variable, when misconfigured


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    request = operations.parse_request(event)
    logger.info(
        "operation requested",
        extra={"operation": request.operation, "selling_partner_id": request.selling_partner_id,
               "region": request.region},
    )  # fmt: skip
    return operations.run(get_config(), request)
