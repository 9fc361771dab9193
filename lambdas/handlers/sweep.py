"""The sweep function: started by the schedule (or an operator), continued by itself with a cursor."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import aws, deadline
from sellertoken.config import get_config
from sellertoken.errors import InvalidRequest
from sellertoken.observability import logger, metrics
from sellertoken.sweep import Cursor, Sweep, cursor_payload

get_config()  # fail at cold start, naming the variable, when misconfigured


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@deadline.bounded  # LWA and AWS calls end before the function's timeout
def handler(event: dict, context: LambdaContext) -> dict:
    cursor = _cursor(event)
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


def _cursor(event: dict) -> Cursor:
    if not isinstance(event, dict):
        raise InvalidRequest("the sweep event must be a JSON object")
    if "sweep_cursor" in event:
        try:
            return Cursor.from_payload(event["sweep_cursor"])
        except (KeyError, TypeError, ValueError):
            raise InvalidRequest("sweep_cursor is malformed") from None
    # A scheduled event (its id names the run) or an operator's {"run_id": …}.
    run_id = event.get("run_id") or event.get("id")
    if run_id is not None and (not isinstance(run_id, str) or not 0 < len(run_id) <= 128):
        raise InvalidRequest("run_id must be a short string")
    return Cursor.new(run_id)
