"""The rotation function: Amazon's client-secret notices from its SQS queue (event source mapping, partial batch
failures reported), the schedule's check, and an operator's `sellertoken app status | rotate | set-secret`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sellertoken import deadline, names
from sellertoken.config import get_config
from sellertoken.errors import InvalidRequest, closed, request_object
from sellertoken.notices import NoticeRejected
from sellertoken.observability import count, logger, metrics
from sellertoken.rotation import Rotator

get_config()  # fail at cold start, naming the variable, when misconfigured

# A notice that cannot be used fails here every time it is received, so SQS moves it to the dead-letter queue
# after names.NOTIFICATION_MAX_RECEIVES receives; a transient failure is retried the same way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
OPERATIONS = {"status", "rotate", "set_secret"}
_OPERATOR_FIELDS = {"operation", "client_secret", "expires_at"}


@logger.inject_lambda_context(log_event=False)  # an operator's event may hold a client secret
@metrics.log_metrics
@deadline.bounded
def handler(event: dict, context: LambdaContext) -> dict:
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list):
        return process_partial_response(event=event, record_handler=notice, processor=processor, context=context)
    if isinstance(event, Mapping) and event.get("source") == "aws.events":
        return Rotator(get_config()).check()
    try:
        return operate(event)
    except Exception as error:  # noqa: BLE001 - an operator sees one of the contract's errorTypes
        raise closed(error) from None


def notice(record: SQSRecord) -> dict[str, Any]:
    try:
        return Rotator(get_config()).on_message(record.body)
    except NoticeRejected as rejected:
        receives = int(record.attributes.approximate_receive_count or 0)
        count(names.METRIC_NOTICE_REJECTED)
        logger.error(
            "notification rejected: it changes nothing"
            + (" and moves to the dead-letter queue" if receives >= names.NOTIFICATION_MAX_RECEIVES else ""),
            extra={"reason": rejected.reason, "problem": str(rejected), "message_id": record.message_id},
        )
        raise


def operate(event: object) -> dict[str, Any]:
    event = request_object(event, _OPERATOR_FIELDS)
    operation = event.get("operation")
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of {', '.join(sorted(OPERATIONS))}")
    rotator = Rotator(get_config())
    logger.info("app operation requested", extra={"operation": operation})
    if operation == "status":
        return rotator.status()
    if operation == "rotate":
        return rotator.rotate_now()
    secret, expires_at = event.get("client_secret"), event.get("expires_at")
    if not isinstance(secret, str):
        raise InvalidRequest("client_secret is required")
    if expires_at is not None and not isinstance(expires_at, str):
        raise InvalidRequest("expires_at must be an ISO 8601 time")
    return rotator.set_secret(secret, expires_at)
