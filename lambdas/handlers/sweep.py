"""The sweep function: started by the schedule (or an operator), continued by itself with a cursor."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import aws, deadline
from sellertoken.config import get_config
from sellertoken.observability import logger, metrics
from sellertoken.sweep import Sweep, cursor_payload, parse_event

get_config()  # fail at cold start, naming the variable, when misconfigured


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@deadline.bounded  # LWA and AWS calls end before the function's timeout
def handler(event: dict, context: LambdaContext) -> dict:
    cursor = parse_event(event)
    result = Sweep(get_config()).run(cursor, lambda: context.get_remaining_time_in_millis() / 1000)
    if result.outcome == "continued":
        result.cursor.invocations += 1
        aws.client("lambda").invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(cursor_payload(result.cursor)).encode(),
        )
        logger.info("sweep continues in a new invocation", extra={"run_id": cursor.run_id, "counts": cursor.counts})
    return {"run_id": result.cursor.run_id, "outcome": result.outcome, "counts": result.cursor.counts}
