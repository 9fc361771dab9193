"""Grant status changes that vending and the sweep share: one code path flags a revoked seller."""

from __future__ import annotations

from sellertoken import events, grants, names
from sellertoken.config import Config
from sellertoken.observability import count, logger


def flag_revoked(config: Config, grant: grants.Grant, reason: str, *, detected_by: str) -> None:
    """Tag the grant revoked, announce it and count it. Only LWA invalid_grant may lead here."""
    if grant.status == names.STATUS_REVOKED:
        return
    revoked_at = grants.now_iso()
    grants.mark_revoked(config.prefix, grant.region, grant.selling_partner_id, reason, at=revoked_at)
    detail = {
        "selling_partner_id": grant.selling_partner_id,
        "region": grant.region,
        "account_type": grant.account_type,
        "revoked_at": revoked_at,
        "reason": reason,
        "detected_by": detected_by,
    }
    if grant.reference is not None:
        detail["reference"] = grant.reference
    events.publish(config.event_bus_name, names.EVENT_GRANT_REVOKED, detail)
    count(names.METRIC_GRANTS_REVOKED)
    logger.warning("grant revoked", extra={k: detail[k] for k in ("selling_partner_id", "region", "detected_by")})
