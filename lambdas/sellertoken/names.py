"""Names shared by lambdas/, infra/, devstack/ and tests/: defined here once, imported everywhere.

This module imports nothing but the standard library so that the CDK app and the local stack can
use it without pulling in the Lambda runtime dependencies.
"""

from __future__ import annotations

import re

# A selling partner id has exactly one of the two forms Amazon sends (reference, "Identifier and token
# formats"): a seller's, capital letters and digits starting with "A" (every example is 13-14 long); a
# vendor group's, "amzn1.vg." and digits (selling-partner-api-models#2397). Nothing else is accepted
# anywhere: secret names, tags, table keys, events and URLs are built from it. The client keeps a copy.
SELLING_PARTNER_ID_PATTERN = r"A[A-Z0-9]{7,19}|amzn1\.vg\.[0-9]{1,20}"
_SELLING_PARTNER_ID = re.compile(SELLING_PARTNER_ID_PATTERN)


SELLING_PARTNER_ID_RULE = (
    "selling_partner_id must be a seller's id (A and capital letters or digits) or a vendor's (amzn1.vg. and digits)"
)


def is_selling_partner_id(value: object) -> bool:
    return isinstance(value, str) and _SELLING_PARTNER_ID.fullmatch(value) is not None


# Amazon's three SP-API regions (regions.py holds each one's hosts and endpoints; the client's CLI offers them).
REGION_CODES = ("na", "eu", "fe")
REGION_RULE = f"region must be one of {', '.join(REGION_CODES)}"

# The one timestamp format of values, tags, events, table records and answers: ISO 8601 UTC to the second.
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A seller's authorization must be renewed this many days after its consent (reference §2; timestamps.py).
REAUTHORIZE_AFTER_DAYS = 365

# Default resource prefix: grant secrets live under f"{PREFIX}/grants/{region}/{seller}".
DEFAULT_PREFIX = "sellertoken"


def app_secret_name(prefix: str = DEFAULT_PREFIX) -> str:
    """The secret holding the LWA app credentials (JSON, see APP_SECRET_FIELDS)."""
    return f"{prefix}/app"


def state_key_secret_name(prefix: str = DEFAULT_PREFIX) -> str:
    """The secret holding the OAuth state signing key."""
    return f"{prefix}/state-key"


def grants_prefix(prefix: str = DEFAULT_PREFIX) -> str:
    """Every grant secret's name starts with this (IAM resources are scoped to it)."""
    return f"{prefix}/grants/"


def grant_secret_name(region: str, selling_partner_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    if not is_selling_partner_id(selling_partner_id):  # a last guard: callers validate first, with a clear error
        raise ValueError("not a selling partner id")
    return f"{grants_prefix(prefix)}{region}/{selling_partner_id}"


# The functions, by key: each one's handler. infra/ deploys one function per entry, devstack/ serves
# them, and the IAM check (tests/iam) finds a function's role in the template by its handler. A new
# function is one line here.
FUNCTION_HANDLERS = {
    "oauth": "handlers.oauth.handler",
    "vend": "handlers.vend.handler",
    "sweep": "handlers.sweep.handler",
    "ops": "handlers.ops.handler",
    "rotation": "handlers.rotation.handler",
}


def function_name(key: str, prefix: str = DEFAULT_PREFIX) -> str:
    """`{prefix}-{key}`: the deployed name of vend, sweep and ops (callers, the CLI and the sweep itself name
    them), and the name every function has on the local stack."""
    return f"{prefix}-{key}"


# The consent API's routes, all GET (handlers/oauth.py serves them; infra/consent_api.py and the local API
# Gateway route exactly these to the oauth function).
CONSENT_ROUTES = ("/authorize", "/login", "/callback")

# The vend function's alias callers invoke (provisioned concurrency lives on it; the local stack accepts it too).
LIVE_ALIAS = "live"


# JSON fields of the app credentials secret, filled by the operator after deployment.
APP_SECRET_FIELDS = ("client_id", "client_secret", "application_id")
# Optional fields the broker writes when the client secret changes (rotation, `sellertoken app set-secret`),
# all times ISO 8601 UTC: when the current secret expires (Amazon's notices, or the operator), the secret it
# replaced and until when that one still works (Amazon's 7-day overlap), and when the change happened.
APP_SECRET_EXPIRES_AT = "client_secret_expires_at"
APP_PREVIOUS_SECRET = "previous_client_secret"
APP_PREVIOUS_SECRET_EXPIRES_AT = "previous_client_secret_expires_at"
APP_SECRET_ROTATED_AT = "rotated_at"
APP_SECRET_OPTIONAL_FIELDS = (
    APP_SECRET_EXPIRES_AT,
    APP_PREVIOUS_SECRET,
    APP_PREVIOUS_SECRET_EXPIRES_AT,
    APP_SECRET_ROTATED_AT,
)

# Grant secret value schema version (bump on an incompatible change of the JSON shape).
GRANT_SCHEMA_VERSION = 1

# Secret tags: status travels as tags so that listing needs no decryption.
TAG_STATUS = "sellertoken:status"
TAG_REGION = "sellertoken:region"
TAG_SELLER = "sellertoken:seller"
TAG_ACCOUNT_TYPE = "sellertoken:account-type"
TAG_AUTHORIZED_AT = "sellertoken:authorized-at"
TAG_REVOKED_AT = "sellertoken:revoked-at"
TAG_REVOKED_REASON = "sellertoken:revoked-reason"
STATUS_ACTIVE = "active"
STATUS_REVOKED = "revoked"

# DynamoDB: one table, string partition key, TTL attribute (epoch seconds).
TABLE_PARTITION_KEY = "pk"
TABLE_TTL_ATTRIBUTE = "ttl"

# EventBridge.
EVENT_SOURCE = "sellertoken"
EVENT_SELLER_AUTHORIZED = "Seller Authorized"
EVENT_SELLER_REAUTHORIZED = "Seller Reauthorized"
EVENT_GRANT_REVOKED = "Seller Grant Revoked"
EVENT_GRANT_RECOVERED = "Seller Grant Recovered"
EVENT_REAUTHORIZATION_DUE = "Seller Reauthorization Due"
EVENT_APP_CREDENTIALS_REJECTED = "App Credentials Rejected"
EVENT_SWEEP_COMPLETED = "Grant Sweep Completed"
# A consent was refused because its token belongs to another account than the grant (a security event).
EVENT_CONSENT_REFUSED = "Seller Consent Refused"
EVENT_GRANT_RESTORED = "Seller Grant Restored"
EVENT_APP_CREDENTIALS_ROTATED = "App Credentials Rotated"
EVENT_APP_CREDENTIALS_EXPIRING = "App Credentials Expiring"

# Metrics namespace (Powertools) and service name.
METRICS_NAMESPACE = "SellerToken"
SERVICE_NAME = "sellertoken"

# Environment variables read by lambdas/sellertoken/config.py (and set by infra/ and devstack/).
ENV_PREFIX = "SELLERTOKEN_PREFIX"
ENV_TABLE_NAME = "SELLERTOKEN_TABLE_NAME"
ENV_KMS_KEY_ID = "SELLERTOKEN_KMS_KEY_ID"
ENV_EVENT_BUS_NAME = "SELLERTOKEN_EVENT_BUS_NAME"
ENV_REDIRECT_URI = "SELLERTOKEN_REDIRECT_URI"
ENV_SUCCESS_URL = "SELLERTOKEN_SUCCESS_URL"
ENV_APP_IS_DRAFT = "SELLERTOKEN_APP_IS_DRAFT"
ENV_LWA_ENDPOINT = "SELLERTOKEN_LWA_ENDPOINT"
ENV_CONSENT_BASE_URL = "SELLERTOKEN_CONSENT_BASE_URL"
ENV_VENDOR_CONSENT_BASE_URL = "SELLERTOKEN_VENDOR_CONSENT_BASE_URL"  # Vendor Central, where it differs
ENV_SPAPI_BASE_URL = "SELLERTOKEN_SPAPI_BASE_URL"

# Local stack defaults (devstack seeds these; infra creates its own names).
LOCAL_TABLE_NAME = "sellertoken"
LOCAL_EVENT_BUS_NAME = "sellertoken"
LOCAL_KMS_ALIAS = "alias/sellertoken"
LOCAL_AWS_REGION = "us-east-1"

# Grant health and reminders (sweep): tags written only when they change.
TAG_HEALTH = "sellertoken:health"  # "failing" while LWA keeps failing transiently for this grant
TAG_REAUTH_REMINDED = "sellertoken:reauth-reminded"  # the last reminder sent: "30", "7" or "1" (days)
HEALTH_FAILING = "failing"
HEALTH_UNAUTHORIZED = "unauthorized"  # LWA refuses this grant's refresh token for the app (unauthorized_client)
REAUTH_REMINDER_DAYS = (30, 7, 1)

# Sweep settings (optional environment variables, see config.py).
ENV_SWEEP_CONCURRENCY = "SELLERTOKEN_SWEEP_CONCURRENCY"
ENV_SWEEP_RATE_PER_SECOND = "SELLERTOKEN_SWEEP_RATE_PER_SECOND"
ENV_SWEEP_TIME_MARGIN_SECONDS = "SELLERTOKEN_SWEEP_TIME_MARGIN_SECONDS"
ENV_SWEEP_PERIOD_SECONDS = "SELLERTOKEN_SWEEP_PERIOD_SECONDS"  # how often the schedule starts one (infra sets it)
ENV_SWEEP_PROOF_SECONDS = "SELLERTOKEN_SWEEP_PROOF_SECONDS"  # a refresh this recent counts as a check
# The field of a sweep's start event that asks for every grant to be refreshed, whatever proof it has.
SWEEP_FULL = "full"
# A sweep run's outcomes that count as a grant checked ("proven": a refresh within the proof window vouched).
SWEEP_CHECKED = ("healthy", "proven", "revoked", "failing")

# The fleet's LWA budget: LWA calls per second across every container (0: no budget; see budget.py).
ENV_LWA_RATE_PER_SECOND = "SELLERTOKEN_LWA_RATE_PER_SECOND"

# Seconds after which no container serves a flagged grant's cached token (optional, see config.py).
ENV_REVOCATION_BOUND_SECONDS = "SELLERTOKEN_REVOCATION_BOUND_SECONDS"

# Client-secret rotation (rotation function; optional, see config.py): the safety net's age in days, and the
# queue Amazon's notifications arrive on (shown by `sellertoken app status`; the event source mapping reads it).
ENV_ROTATE_AFTER_DAYS = "SELLERTOKEN_ROTATE_AFTER_DAYS"
ENV_NOTIFICATION_QUEUE_URL = "SELLERTOKEN_NOTIFICATION_QUEUE_URL"
CLIENT_SECRET_LIFETIME_DAYS = 180  # Amazon: rotate at least every 180 days (reference §4)
CLIENT_SECRET_OVERLAP_DAYS = 7  # the old secret keeps working this long after a rotation (reference §4)
APP_EXPIRING_REMINDER_DAYS = (30, 7, 1)  # `App Credentials Expiring` when no rotation has happened
# A notification the rotation function cannot use is received this many times, then SQS moves it to the
# dead-letter queue (redrive policy; infra/rotation.py and the local stack's queue).
NOTIFICATION_MAX_RECEIVES = 5
# The notification types of Amazon's Application Management API (reference §4).
NOTICE_SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
NOTICE_NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"

# CloudWatch metrics (Powertools EMF, dimension service=sellertoken); infra/ alarms and graphs them.
METRIC_CACHE_HIT_MEMORY = "CacheHitMemory"
METRIC_CACHE_HIT_SHARED = "CacheHitShared"
METRIC_LWA_REFRESH = "LwaRefresh"
METRIC_LWA_THROTTLED = "LwaThrottled"  # LWA answered 429: every container pauses (budget.py)
METRIC_LWA_BUDGET_EXHAUSTED = "LwaBudgetExhausted"  # a call found no LWA slot before its deadline
METRIC_SHARED_CACHE_UNAVAILABLE = "SharedCacheUnavailable"
METRIC_REVOCATION_FEED_UNAVAILABLE = "RevocationFeedUnavailable"  # a container could not read the feed
METRIC_REVOCATION_NOT_RECORDED = "RevocationNotRecorded"  # a flag could not reach the feed: alarm
METRIC_GRANTS_CHECKED = "GrantsChecked"
METRIC_GRANTS_REVOKED = "GrantsRevoked"
METRIC_GRANTS_FAILING = "GrantsFailing"
METRIC_SWEEP_COMPLETED = "SweepCompleted"
METRIC_APP_CREDENTIALS_REJECTED = "AppCredentialsRejected"
METRIC_BROKER_FAULT = "BrokerFault"  # a vend answered BrokerFault: misconfiguration or a bug (errors.py)
METRIC_SELLER_AUTHORIZED = "SellerAuthorized"
METRIC_CONSENT_FAILED = "ConsentFailed"
METRIC_EVENT_PUBLISH_FAILED = "EventPublishFailed"
METRIC_CONSENT_REFUSED = "ConsentRefused"  # alarmed: someone tried to land a token on another account's grant
METRIC_IDENTITY_UNVERIFIED = "IdentityUnverified"  # a grant replaced without proof of the same account
METRIC_APP_CREDENTIALS_ROTATED = "AppCredentialsRotated"
METRIC_ROTATION_FAILED = "RotationFailed"  # alarmed: Amazon refused a rotation, or its new secret never came
METRIC_NOTICE_REJECTED = "RotationNoticeRejected"  # a notification for another app, malformed or out of order
METRIC_APP_SECRET_DAYS_LEFT = "AppSecretDaysLeft"  # alarmed when low: the expiry nears and no rotation happened
