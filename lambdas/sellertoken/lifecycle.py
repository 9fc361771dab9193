"""Grant status changes that vending and the sweep share: one code path flags a revoked seller."""

from __future__ import annotations

import time

from sellertoken import appcreds, aws, events, grants, names, timestamps
from sellertoken.config import Config
from sellertoken.observability import count, logger
from sellertoken.revocations import FeedUnavailable, RevocationFeed
from sellertoken.table import GrantHealth
from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG, SharedCache, SharedCacheUnavailable, access_key


def flag_revoked(config: Config, grant: grants.Grant, reason: str, *, detected_by: str) -> None:
    """Tag the grant revoked, make every container drop its cached tokens within the revocation bound,
    announce it and count it. Only LWA invalid_grant (or an operator) may lead here."""
    if grant.status == names.STATUS_REVOKED:
        return
    revoked_at = timestamps.now_iso()
    # The tag first: a container that drops its token after reading the feed must find the grant revoked.
    grants.mark_revoked(config.prefix, grant.region, grant.selling_partner_id, reason, at=revoked_at)
    forget_tokens(config, grant.region, grant.selling_partner_id)
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


def forget_tokens(config: Config, region: str, selling_partner_id: str) -> bool:
    """Make every container stop serving this grant's tokens cached until now, within the revocation bound
    (after a revocation, or when the grant's refresh token is replaced or restored): record it in the
    revocation feed and drop the shared cache entry. The caller evicts its own container's memory.

    Returns False when the feed could not be written: then containers that hold the grant's tokens in
    memory may serve them until they expire (at most an hour); counted for an alarm and logged."""
    dynamodb = aws.client("dynamodb", SHARED_CACHE_BOTO_CONFIG)
    recorded = True
    try:
        RevocationFeed(config.table_name, dynamodb).record(region, selling_partner_id, time.time())
    except FeedUnavailable as error:
        recorded = False
        count(names.METRIC_REVOCATION_NOT_RECORDED)
        logger.error(
            "revocation not recorded in the feed: containers may serve cached tokens until they expire",
            extra={"selling_partner_id": selling_partner_id, "region": region, "error": str(error)},
        )
    client_id = appcreds.load(config.prefix).client_id
    try:
        SharedCache(config.table_name, dynamodb).delete(access_key(client_id, region, selling_partner_id))
    except SharedCacheUnavailable:
        count(names.METRIC_SHARED_CACHE_UNAVAILABLE)
    return recorded


def mark_unauthorized(config: Config, grant: grants.Grant, *, detected_by: str) -> None:
    """Give the grant the health an operator sees (`grants list/show`): LWA refuses its refresh token for this
    application (unauthorized_client) while accepting the application. Not a revocation: nothing is flagged,
    no token is dropped, no event claims the seller left; a consent replaces it, a healthy refresh clears it."""
    GrantHealth(config.table_name).record_unauthorized(
        grant.region, grant.selling_partner_id, detected_by, timestamps.now_iso()
    )
    if grant.tags.get(names.TAG_HEALTH) != names.HEALTH_UNAUTHORIZED:
        grants.set_tags(
            config.prefix, grant.region, grant.selling_partner_id, {names.TAG_HEALTH: names.HEALTH_UNAUTHORIZED}
        )
    logger.warning(
        "grant unauthorized for this application",
        extra={"selling_partner_id": grant.selling_partner_id, "region": grant.region, "detected_by": detected_by},
    )
