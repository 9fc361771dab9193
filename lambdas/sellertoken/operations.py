"""What an operator may do to one grant, through the ops function: restore its previous refresh token, or
flag it revoked. Each change makes the fleet drop the grant's cached tokens and is announced."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from sellertoken import events, grants, lifecycle, names
from sellertoken.config import Config
from sellertoken.errors import InvalidRequest, UpstreamUnavailable, request_object
from sellertoken.observability import logger
from sellertoken.regions import REGIONS

RESTORE_PREVIOUS = "restore_previous"
REVOKE = "revoke"
OPERATIONS = (RESTORE_PREVIOUS, REVOKE)
_FIELDS = {"operation", "selling_partner_id", "region"}
OPERATOR = "operator"  # who asked, in events and the revocation tag


@dataclass(frozen=True)
class OpsRequest:
    operation: str
    selling_partner_id: str
    region: str


def parse_request(payload: object) -> OpsRequest:
    """Validate an ops payload strictly; InvalidRequest names the offending field."""
    payload = request_object(payload, _FIELDS)
    operation = payload.get("operation")
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of {', '.join(OPERATIONS)}")
    seller = payload.get("selling_partner_id")
    if not names.is_selling_partner_id(seller):
        raise InvalidRequest(names.SELLING_PARTNER_ID_RULE)
    region = payload.get("region")
    if region not in REGIONS:
        raise InvalidRequest(names.REGION_RULE)
    return OpsRequest(operation, seller, region)


def run(config: Config, request: OpsRequest) -> dict:
    try:
        if request.operation == RESTORE_PREVIOUS:
            return restore_previous(config, request.region, request.selling_partner_id)
        return revoke(config, request.region, request.selling_partner_id)
    except ClientError as exc:
        raise UpstreamUnavailable(f"AWS answered {exc.response['Error']['Code']}") from None


def restore_previous(config: Config, region: str, selling_partner_id: str) -> dict:
    """Put the grant's previous refresh token back (after a re-authorization that should not have landed).
    Running it again undoes it: the replaced version becomes the previous one."""
    restored = grants.restore_previous(config.prefix, region, selling_partner_id)
    lifecycle.forget_tokens(config, region, selling_partner_id)
    detail = {
        **restored.grant.public_fields(),
        "version_id": restored.version_id,
        "replaced_version_id": restored.replaced_version_id,
        "requested_by": OPERATOR,
    }
    events.publish(config.event_bus_name, names.EVENT_GRANT_RESTORED, detail)
    logger.warning("grant restored", extra={"selling_partner_id": selling_partner_id, "region": region})
    return {
        "operation": RESTORE_PREVIOUS,
        "selling_partner_id": selling_partner_id,
        "region": region,
        "status": names.STATUS_ACTIVE,
        "authorized_at": restored.grant.authorized_at,
        "version_id": restored.version_id,
        "replaced_version_id": restored.replaced_version_id,
    }


def revoke(config: Config, region: str, selling_partner_id: str) -> dict:
    """Flag the grant revoked (nothing vends it until the seller authorizes again) and drop its tokens."""
    grant = grants.load(config.prefix, region, selling_partner_id)
    lifecycle.flag_revoked(config, grant, OPERATOR, detected_by=OPERATOR)
    lifecycle.forget_tokens(config, region, selling_partner_id)
    return {
        "operation": REVOKE,
        "selling_partner_id": selling_partner_id,
        "region": region,
        "status": names.STATUS_REVOKED,
        "already_revoked": grant.status == names.STATUS_REVOKED,
    }
