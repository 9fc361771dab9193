"""Grant status changes that vending and the sweep share: one code path flags a revoked seller."""

from __future__ import annotations

from sellertoken import appcreds, aws, events, grants, names
from sellertoken.config import Config
from sellertoken.observability import count, logger
from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG, SharedCache, SharedCacheUnavailable


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


def forget_tokens(config: Config, region: str, selling_partner_id: str) -> None:
    """Make the fleet stop serving this grant's cached tokens (after a revocation, or when the grant's
    refresh token is replaced or restored). Today: drop the shared cache entry; a container's own memory
    is the caller's to evict."""
    client_id = appcreds.load(config.prefix).client_id
    shared = SharedCache(config.table_name, aws.client("dynamodb", SHARED_CACHE_BOTO_CONFIG))
    try:
        shared.delete((client_id, region, selling_partner_id, "access"))
    except SharedCacheUnavailable:
        count(names.METRIC_SHARED_CACHE_UNAVAILABLE)
