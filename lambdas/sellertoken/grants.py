"""The grants store: one Secrets Manager secret per (region, seller), status in its tags.

Re-authorization writes a new version of the same secret. Two concurrent first-time callbacks
for one seller race on CreateSecret; the loser writes a new version, so the secret always holds
one complete value.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from sellertoken import aws, names
from sellertoken.errors import GrantNotFound, from_aws

REAUTHORIZE_AFTER = timedelta(days=365)
# No format is documented; every example is 14 upper-case letters and digits (reference, §Identifiers).
SELLING_PARTNER_ID = re.compile(r"[A-Z0-9]{8,20}")


@dataclass(frozen=True, repr=False)
class Grant:
    selling_partner_id: str
    region: str
    account_type: str
    refresh_token: str
    client_id: str
    authorized_at: str  # ISO 8601 UTC
    reference: str | None = None
    status: str = names.STATUS_ACTIVE
    tags: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print the refresh token
        return f"Grant({self.region}/{self.selling_partner_id}, {self.account_type}, {self.status})"

    @property
    def reauthorize_by(self) -> str:
        return iso_utc(datetime.fromisoformat(self.authorized_at) + REAUTHORIZE_AFTER)

    def public_fields(self) -> dict[str, str]:
        """What may be shown or announced about the grant: everything but its token and client id."""
        fields = {
            "selling_partner_id": self.selling_partner_id,
            "region": self.region,
            "account_type": self.account_type,
            "authorized_at": self.authorized_at,
            "reauthorize_by": self.reauthorize_by,
        }
        if self.reference is not None:
            fields["reference"] = self.reference
        return fields

    def secret_value(self) -> str:
        value = {
            **self.public_fields(),
            "schema_version": names.GRANT_SCHEMA_VERSION,
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
        }
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class SaveOutcome:
    created: bool
    previous_status: str | None  # None when the secret is new


def now_iso() -> str:
    return iso_utc(datetime.now(UTC))


def save(prefix: str, kms_key_id: str, grant: Grant) -> SaveOutcome:
    """Store a grant from a completed consent: a new secret, or a new version of the existing one."""
    name = names.grant_secret_name(grant.region, grant.selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    try:
        sm.create_secret(
            Name=name,
            SecretString=grant.secret_value(),
            KmsKeyId=kms_key_id,
            Description=f"sellertoken grant of {grant.account_type} {grant.selling_partner_id} ({grant.region})",
            Tags=[{"Key": k, "Value": v} for k, v in _active_tags(grant).items()],
        )
        return SaveOutcome(created=True, previous_status=None)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
    described = sm.describe_secret(SecretId=name)
    if described.get("DeletedDate"):
        sm.restore_secret(SecretId=name)
    tags = _tags(described)
    sm.put_secret_value(SecretId=name, SecretString=grant.secret_value())
    sm.tag_resource(SecretId=name, Tags=[{"Key": k, "Value": v} for k, v in _active_tags(grant).items()])
    stale = [
        k
        for k in (names.TAG_REVOKED_AT, names.TAG_REVOKED_REASON, names.TAG_REAUTH_REMINDED, names.TAG_HEALTH)
        if k in tags
    ]
    if stale:
        sm.untag_resource(SecretId=name, TagKeys=stale)
    return SaveOutcome(created=False, previous_status=tags.get(names.TAG_STATUS))


def load(prefix: str, region: str, selling_partner_id: str) -> Grant:
    """Read a grant and its status (tags). Raises GrantNotFound, or UpstreamUnavailable if AWS fails."""
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    try:
        described = sm.describe_secret(SecretId=name)
        if described.get("DeletedDate"):
            raise GrantNotFound(f"no grant for {selling_partner_id} in {region}")
        tags = _tags(described)
        if tags.get(names.TAG_STATUS) == names.STATUS_REVOKED:
            value: dict = {}  # a revoked grant's token is not read: nothing may use it
        else:
            value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            raise GrantNotFound(f"no grant for {selling_partner_id} in {region}") from None
        raise from_aws(exc) from None  # throttling, 5xx: UpstreamUnavailable; denied, KMS: BrokerFault
    return Grant(
        selling_partner_id=selling_partner_id,
        region=region,
        account_type=value.get("account_type") or tags.get(names.TAG_ACCOUNT_TYPE, "seller"),
        refresh_token=value.get("refresh_token", ""),
        client_id=value.get("client_id", ""),
        authorized_at=value.get("authorized_at") or tags.get(names.TAG_AUTHORIZED_AT, ""),
        reference=value.get("reference"),
        status=tags.get(names.TAG_STATUS, names.STATUS_ACTIVE),
        tags=tags,
    )


@dataclass(frozen=True)
class Listed:
    """A grant as ListSecrets shows it: name and tags, no secret value."""

    name: str
    region: str
    selling_partner_id: str
    tags: dict[str, str]

    @property
    def status(self) -> str:
        return self.tags.get(names.TAG_STATUS, names.STATUS_ACTIVE)


def list_page(prefix: str, next_token: str | None, page_size: int = 100) -> tuple[list[Listed], str | None]:
    """One page of every grant (any status), oldest first, so that pages stay stable while a run goes on."""
    start = names.grants_prefix(prefix)
    kwargs: dict = {
        "Filters": [{"Key": "name", "Values": [start]}],
        "MaxResults": page_size,
        "SortBy": "created-date",
        "SortOrder": "asc",
    }
    if next_token:
        kwargs["NextToken"] = next_token
    answer = aws.client("secretsmanager").list_secrets(**kwargs)
    listed = []
    for entry in answer.get("SecretList", []):
        parts = entry["Name"][len(start) :].split("/")
        if len(parts) == 2 and entry["Name"].startswith(start):
            listed.append(Listed(entry["Name"], parts[0], parts[1], _tags(entry)))
    return listed, answer.get("NextToken")


def read_listed(prefix: str, listed: Listed) -> Grant:
    """The grant behind a listing entry: one GetSecretValue, status and health from the listing's tags."""
    try:
        secret = aws.client("secretsmanager").get_secret_value(SecretId=listed.name)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("ResourceNotFoundException", "InvalidRequestException"):
            raise GrantNotFound(f"{listed.name} disappeared") from None
        raise from_aws(exc) from None  # throttling, 5xx: UpstreamUnavailable; denied, KMS: BrokerFault
    value = json.loads(secret["SecretString"])
    return Grant(
        selling_partner_id=listed.selling_partner_id,
        region=listed.region,
        account_type=value.get("account_type", "seller"),
        refresh_token=value.get("refresh_token", ""),
        client_id=value.get("client_id", ""),
        authorized_at=value.get("authorized_at") or listed.tags.get(names.TAG_AUTHORIZED_AT, ""),
        reference=value.get("reference"),
        status=listed.status,
        tags=listed.tags,
    )


def set_tags(prefix: str, region: str, selling_partner_id: str, tags: dict[str, str]) -> None:
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    aws.client("secretsmanager").tag_resource(SecretId=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def remove_tags(prefix: str, region: str, selling_partner_id: str, keys: list[str]) -> None:
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    aws.client("secretsmanager").untag_resource(SecretId=name, TagKeys=keys)


def replace_refresh_token(prefix: str, grant: Grant, refresh_token: str) -> None:
    """LWA does not rotate refresh tokens today; if it ever returns a new one, keep it (never an empty one)."""
    if not refresh_token or refresh_token == grant.refresh_token:
        return
    name = names.grant_secret_name(grant.region, grant.selling_partner_id, prefix)
    updated = dataclasses.replace(grant, refresh_token=refresh_token)
    aws.client("secretsmanager").put_secret_value(SecretId=name, SecretString=updated.secret_value())


def mark_revoked(prefix: str, region: str, selling_partner_id: str, reason: str, *, at: str | None = None) -> None:
    """Flag a grant revoked (tags only: the secret is kept for audit and re-authorization)."""
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    aws.client("secretsmanager").tag_resource(
        SecretId=name,
        Tags=[
            {"Key": names.TAG_STATUS, "Value": names.STATUS_REVOKED},
            {"Key": names.TAG_REVOKED_AT, "Value": at or now_iso()},
            {"Key": names.TAG_REVOKED_REASON, "Value": reason},
        ],
    )


def _active_tags(grant: Grant) -> dict[str, str]:
    return {
        names.TAG_STATUS: names.STATUS_ACTIVE,
        names.TAG_REGION: grant.region,
        names.TAG_SELLER: grant.selling_partner_id,
        names.TAG_ACCOUNT_TYPE: grant.account_type,
        names.TAG_AUTHORIZED_AT: grant.authorized_at,
    }


def _tags(described: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


def iso_utc(moment: datetime | float) -> str:
    """ISO 8601 UTC to the second, the one timestamp format of values, tags, events and answers."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
