"""The broker's names the client and the operator commands use (tags, table keys, function names, regions, the
timestamp format).

A copy, because this package installs without the broker's code; tests/unit/test_client_names.py
fails the build the moment it differs from lambdas/sellertoken/names.py and lambdas/sellertoken/table.py
(the table's keys), where they are defined.
"""

import re

SELLING_PARTNER_ID_PATTERN = r"A[A-Z0-9]{7,19}|amzn1\.vg\.[0-9]{1,20}"
SELLING_PARTNER_ID_RULE = (
    "selling_partner_id must be a seller's id (A and capital letters or digits) or a vendor's (amzn1.vg. and digits)"
)
REGION_CODES = ("na", "eu", "fe")
REGION_RULE = "region must be one of na, eu, fe"
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
REAUTHORIZE_AFTER_DAYS = 365
DEFAULT_PREFIX = "sellertoken"
TAG_STATUS = "sellertoken:status"
TAG_REGION = "sellertoken:region"
TAG_SELLER = "sellertoken:seller"
TAG_ACCOUNT_TYPE = "sellertoken:account-type"
TAG_AUTHORIZED_AT = "sellertoken:authorized-at"
TAG_REVOKED_AT = "sellertoken:revoked-at"
TAG_REVOKED_REASON = "sellertoken:revoked-reason"
TAG_HEALTH = "sellertoken:health"
TAG_REAUTH_REMINDED = "sellertoken:reauth-reminded"
STATUS_ACTIVE = "active"
HEALTH_FAILING = "failing"
HEALTH_UNAUTHORIZED = "unauthorized"
TABLE_PARTITION_KEY = "pk"
ENV_PREFIX = "SELLERTOKEN_PREFIX"
ENV_TABLE_NAME = "SELLERTOKEN_TABLE_NAME"
SWEEP_FULL = "full"
SWEEP_CHECKED = ("healthy", "proven", "revoked", "failing")


def grants_prefix(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/grants/"


def function_name(key: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}-{key}"


def health_key(region: str, selling_partner_id: str) -> str:
    return f"health#{region}#{selling_partner_id}"


def sweep_run_key(run_id: str) -> str:
    return f"sweep#run#{run_id}"


SWEEP_LATEST_KEY = "sweep#latest"


def is_selling_partner_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(SELLING_PARTNER_ID_PATTERN, value) is not None
