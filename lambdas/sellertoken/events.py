"""EventBridge events (source `sellertoken`). A detail never holds a token, code or secret."""

from __future__ import annotations

import json
from typing import Any

from sellertoken import aws, names
from sellertoken.observability import count, logger


def publish(bus_name: str, detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event; returns False (logged, counted) instead of raising, as the grant is already stored."""
    try:
        result = aws.client("events").put_events(
            Entries=[
                {
                    "Source": names.EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=True),
                    "EventBusName": bus_name,
                }
            ]
        )
        failed = result.get("FailedEntryCount", 0)
    except Exception as exc:  # noqa: BLE001 - an event must never undo a stored grant
        logger.error("event not published", extra={"detail_type": detail_type, "error": type(exc).__name__})
        failed = 1
    if failed:
        count(names.METRIC_EVENT_PUBLISH_FAILED)
        return False
    return True
