"""The grants store: one Secrets Manager secret per (region, seller), status in its tags.

Re-authorization writes a new version of the same secret, so the previous refresh token stays
restorable (AWSPREVIOUS). Two concurrent first-time callbacks for one seller race on CreateSecret;
`create` tells the loser, which then checks its token against the winner's like any re-authorization.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from sellertoken import aws, names
from sellertoken.errors import GrantNotFound, InvalidRequest, from_aws
from sellertoken.observability import logger
from sellertoken.timestamps import iso_utc, now_iso, reauthorize_by


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
    # SHA-256 of the account's Sellers API view when the token was stored (identity.View.fingerprint),
    # so that a later consent can be compared even once this token stops working. None: no view.
    identity_fingerprint: str | None = None
    version_id: str | None = None  # the secret version read (None for a grant not stored yet)

    def __repr__(self) -> str:  # never print the refresh token
        return f"Grant({self.region}/{self.selling_partner_id}, {self.account_type}, {self.status})"

    @property
    def reauthorize_by(self) -> str:
        return iso_utc(reauthorize_by(self.authorized_at))

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
        if self.identity_fingerprint is not None:
            value["identity_fingerprint"] = self.identity_fingerprint
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class SaveOutcome:
    created: bool
    previous_status: str | None  # None when the secret is new
    version_id: str = ""


def save(prefix: str, kms_key_id: str, grant: Grant) -> SaveOutcome:
    """Store a grant whatever is stored already (seeding and tools). A consent never calls this: it checks
    the token's account first (grantcheck) and then calls `create` or `replace`."""
    version = create(prefix, kms_key_id, grant)
    if version is not None:
        return SaveOutcome(created=True, previous_status=None, version_id=version)
    return replace(prefix, grant)


def create(prefix: str, kms_key_id: str, grant: Grant) -> str | None:
    """A new grant secret; returns its version id, or None when a grant exists already (nothing written).

    A secret scheduled for deletion is no grant (`find` does not see it): it is restored and overwritten."""
    name = names.grant_secret_name(grant.region, grant.selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    try:
        created = sm.create_secret(
            Name=name,
            SecretString=grant.secret_value(),
            KmsKeyId=kms_key_id,
            Description=f"sellertoken grant of {grant.account_type} {grant.selling_partner_id} ({grant.region})",
            Tags=[{"Key": k, "Value": v} for k, v in _active_tags(grant).items()],
        )
        return created["VersionId"]
    except ClientError as exc:
        # A grant deleted within its recovery window: AWS answers InvalidRequestException ("already
        # scheduled for deletion"), moto ResourceExistsException (localstack#6530 records both); either
        # way the secret is described below and restored.
        refused = exc
        if exc.response["Error"]["Code"] not in ("ResourceExistsException", "InvalidRequestException"):
            raise
    described = sm.describe_secret(SecretId=name)
    if not described.get("DeletedDate"):
        if refused.response["Error"]["Code"] == "InvalidRequestException":
            raise refused
        return None
    sm.restore_secret(SecretId=name)
    return replace(prefix, grant).version_id


def replace(prefix: str, grant: Grant) -> SaveOutcome:
    """A new version of an existing grant secret (the previous one becomes AWSPREVIOUS), tagged active."""
    name = names.grant_secret_name(grant.region, grant.selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    tags = _tags(sm.describe_secret(SecretId=name))
    version = sm.put_secret_value(SecretId=name, SecretString=grant.secret_value())["VersionId"]
    _retag_active(sm, name, grant, tags)
    return SaveOutcome(created=False, previous_status=tags.get(names.TAG_STATUS), version_id=version)


def find(prefix: str, region: str, selling_partner_id: str) -> Grant | None:
    """The stored grant with its value whatever its status (a consent compares with it), or None.

    Unlike `load`, a revoked grant's value is read too: only to check who a new token belongs to."""
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    try:
        described = sm.describe_secret(SecretId=name)
        if described.get("DeletedDate"):
            return None
        secret = sm.get_secret_value(SecretId=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return _grant(region, selling_partner_id, json.loads(secret["SecretString"]), _tags(described), secret)


@dataclass(frozen=True)
class Restored:
    version_id: str  # now AWSCURRENT
    replaced_version_id: str  # now AWSPREVIOUS: restoring again undoes the restore
    grant: Grant


def restore_previous(prefix: str, region: str, selling_partner_id: str) -> Restored:
    """Make the previous version of the grant's value current again, and its tags match it.

    Raises GrantNotFound, or InvalidRequest when the secret has no previous version."""
    name = names.grant_secret_name(region, selling_partner_id, prefix)
    sm = aws.client("secretsmanager")
    try:
        described = sm.describe_secret(SecretId=name)
        if described.get("DeletedDate"):
            raise GrantNotFound(f"no grant for {selling_partner_id} in {region}")
        stages = described.get("VersionIdsToStages", {})
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
        previous = next((v for v, s in stages.items() if "AWSPREVIOUS" in s), None)
        if current is None or previous is None:
            raise InvalidRequest(f"the grant of {selling_partner_id} in {region} has no previous version")
        secret = sm.get_secret_value(SecretId=name, VersionId=previous)
        grant = _grant(region, selling_partner_id, json.loads(secret["SecretString"]), _tags(described), secret)
        # Moving AWSCURRENT makes Secrets Manager label the replaced version AWSPREVIOUS.
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=previous, RemoveFromVersionId=current
        )
        _retag_active(sm, name, grant, grant.tags)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            raise GrantNotFound(f"no grant for {selling_partner_id} in {region}") from None
        raise
    return Restored(version_id=previous, replaced_version_id=current, grant=grant)


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
    return _grant(region, selling_partner_id, value, tags, secret={})  # no version: load reads the current one


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
        if len(parts) == 2 and entry["Name"].startswith(start) and names.is_selling_partner_id(parts[1]):
            listed.append(Listed(entry["Name"], parts[0], parts[1], _tags(entry)))
        else:  # a secret under the prefix the broker never wrote: never refreshed, named for the operator
            logger.warning("not a grant, skipped", extra={"secret": entry["Name"][:256]})
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
        identity_fingerprint=value.get("identity_fingerprint"),
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


def _grant(region: str, selling_partner_id: str, value: dict, tags: dict[str, str], secret: dict) -> Grant:
    """A grant from its secret's value and tags (a revoked one's value is {}); `secret` names the version read."""
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
        identity_fingerprint=value.get("identity_fingerprint"),
        version_id=secret.get("VersionId"),
    )


def _retag_active(sm, name: str, grant: Grant, tags: dict[str, str]) -> None:
    """Active tags that match the grant's value; a revocation, reminder or failing health no longer applies."""
    sm.tag_resource(SecretId=name, Tags=[{"Key": k, "Value": v} for k, v in _active_tags(grant).items()])
    stale = [
        k
        for k in (names.TAG_REVOKED_AT, names.TAG_REVOKED_REASON, names.TAG_REAUTH_REMINDED, names.TAG_HEALTH)
        if k in tags
    ]
    if stale:
        sm.untag_resource(SecretId=name, TagKeys=stale)


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
