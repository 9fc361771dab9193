"""The application's LWA credentials, read from the `{prefix}/app` secret and cached briefly.

The secret is one JSON object (names.APP_SECRET_FIELDS, and the optional names.APP_SECRET_OPTIONAL_FIELDS the
broker writes when the client secret changes). A change writes a new version: Secrets Manager keeps the one
it replaced as AWSPREVIOUS, and the value itself keeps the previous client secret while Amazon's 7-day
overlap lasts, so that every function can fall back to it (lwa.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellertoken import aws, names
from sellertoken.errors import ConfigurationError
from sellertoken.timestamps import iso_utc_or_none, parse_iso

# Short enough that every function uses a new client secret within minutes of its storing (Amazon keeps the
# old one working for 7 days); a rejected secret is re-read at once (lwa.py), so nothing waits for this.
MAX_AGE_SECONDS = 300
# A client secret is printable ASCII without spaces (Amazon's are `amzn1.oa2-cs.v1.` and 64 hex digits).
MAX_SECRET_LENGTH = 512


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str = ""
    application_id: str = ""
    # Epoch seconds; None when unknown. Malformed optional fields read as unknown: a typo in an expiry must
    # never stop vending (`sellertoken app status` shows them).
    client_secret_expires_at: float | None = None
    previous_client_secret: str = ""
    previous_client_secret_expires_at: float | None = None
    rotated_at: float | None = None

    def __repr__(self) -> str:  # never print a secret
        previous_until = (
            iso_utc_or_none(self.previous_client_secret_expires_at) if self.previous_client_secret else None
        )
        return (
            f"AppCredentials(client_id={self.client_id!r}, application_id={self.application_id!r}, "
            f"expires_at={iso_utc_or_none(self.client_secret_expires_at)}, "
            f"previous_until={previous_until})"
        )

    def previous_valid(self, now: float) -> bool:
        """Whether the secret this one replaced still works (inside Amazon's overlap)."""
        until = self.previous_client_secret_expires_at
        return bool(self.previous_client_secret) and until is not None and now < until

    def secrets_after_rejection(self, rejected: str, now: float) -> list[str]:
        """The secrets worth one more try once LWA refused `rejected`: the current one, then the previous
        one while its overlap lasts; never the refused one again."""
        candidates = [self.client_secret]
        if self.previous_valid(now):
            candidates.append(self.previous_client_secret)
        return [s for s in dict.fromkeys(candidates) if s and s != rejected]

    def fingerprint(self) -> str:
        """Which client secret this is, without revealing it: records about a secret are keyed by this."""
        return secret_fingerprint(self.client_id, self.client_secret)

    def replaced_by(
        self, new_secret: str, *, expires_at: float | None, previous_until: float | None, at: float
    ) -> AppCredentials:
        """These credentials after `new_secret` replaced the current one, which stays usable until `previous_until`."""
        return dataclasses.replace(
            self,
            client_secret=new_secret,
            client_secret_expires_at=expires_at,
            previous_client_secret=self.client_secret,
            previous_client_secret_expires_at=previous_until,
            rotated_at=at,
        )

    def fields(self) -> dict[str, str]:
        """The secret's JSON fields (optional ones only when known), times as ISO 8601 UTC."""
        value = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "application_id": self.application_id,
        }
        optional = {
            names.APP_SECRET_EXPIRES_AT: iso_utc_or_none(self.client_secret_expires_at),
            names.APP_PREVIOUS_SECRET: self.previous_client_secret or None,
            names.APP_PREVIOUS_SECRET_EXPIRES_AT: iso_utc_or_none(self.previous_client_secret_expires_at)
            if self.previous_client_secret
            else None,
            names.APP_SECRET_ROTATED_AT: iso_utc_or_none(self.rotated_at),
        }
        return {**value, **{k: v for k, v in optional.items() if v is not None}}


@dataclass(frozen=True)
class Stored:
    """The secret's current version as Secrets Manager holds it."""

    credentials: AppCredentials
    version_id: str
    created_at: float  # when this version was written (epoch seconds)
    value: dict[str, Any]  # the whole JSON, other fields an operator added included
    unreadable: tuple[str, ...] = ()  # optional fields present but malformed


def load(prefix: str, *, force: bool = False) -> AppCredentials:
    name = names.app_secret_name(prefix)
    return parse(name, _get(name, transform="json", force_fetch=force))[0]


def parse(name: str, value: Any) -> tuple[AppCredentials, tuple[str, ...]]:
    """The credentials in a secret's JSON value, and the optional fields that are present but malformed."""
    missing = [f for f in names.APP_SECRET_FIELDS if not isinstance(value, dict) or not value.get(f)]
    if missing:
        raise ConfigurationError(name, f"secret lacks {', '.join(missing)}")
    unreadable = []

    def moment(field: str) -> float | None:
        raw = value.get(field)
        if raw is None:
            return None
        parsed = parse_time(raw)
        if parsed is None:
            unreadable.append(field)
        return parsed

    previous = value.get(names.APP_PREVIOUS_SECRET)
    if previous is not None and not valid_secret(previous):
        unreadable.append(names.APP_PREVIOUS_SECRET)
        previous = None
    credentials = AppCredentials(
        **{f: value[f] for f in names.APP_SECRET_FIELDS},
        client_secret_expires_at=moment(names.APP_SECRET_EXPIRES_AT),
        previous_client_secret=previous or "",
        previous_client_secret_expires_at=moment(names.APP_PREVIOUS_SECRET_EXPIRES_AT),
        rotated_at=moment(names.APP_SECRET_ROTATED_AT),
    )
    return credentials, tuple(unreadable)


def read(prefix: str) -> Stored:
    """The current version, straight from Secrets Manager (no cache): what a change is based on."""
    name = names.app_secret_name(prefix)
    try:
        answer = aws.client("secretsmanager").get_secret_value(SecretId=name)
    except ClientError as exc:
        if exc.response["Error"].get("Code") == "ResourceNotFoundException":
            raise ConfigurationError(name, "secret does not exist") from None
        raise
    try:
        value = json.loads(answer["SecretString"])
    except (KeyError, ValueError):
        raise ConfigurationError(name, "secret is not valid JSON") from None
    credentials, unreadable = parse(name, value)
    created = answer.get("CreatedDate")
    created_at = created.timestamp() if isinstance(created, datetime) else 0.0
    return Stored(credentials, answer["VersionId"], created_at, value, unreadable)


def store(prefix: str, stored: Stored, credentials: AppCredentials, *, request_token: str) -> str:
    """Write `credentials` as the secret's new current version, keeping the fields an operator added; returns
    the version id. The same `request_token` with the same value is a no-op (Secrets Manager's idempotency),
    so a notice delivered twice stores its secret once."""
    ours = set(names.APP_SECRET_FIELDS) | set(names.APP_SECRET_OPTIONAL_FIELDS)
    value = {**{k: v for k, v in stored.value.items() if k not in ours}, **credentials.fields()}
    answer = aws.client("secretsmanager").put_secret_value(
        SecretId=names.app_secret_name(prefix),
        SecretString=json.dumps(value, separators=(",", ":"), sort_keys=True),
        ClientRequestToken=request_token,
    )
    return answer["VersionId"]


def state_key(prefix: str) -> bytes:
    """The OAuth state signing key (at least 32 bytes)."""
    name = names.state_key_secret_name(prefix)
    value = _get(name)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < 32:
        raise ConfigurationError(name, "state key must hold at least 32 bytes")
    return key


def secret_fingerprint(client_id: str, client_secret: str) -> str:
    return hashlib.sha256(f"{client_id}\0{client_secret}".encode()).hexdigest()[:24]


def valid_secret(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SECRET_LENGTH
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def parse_time(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 time with its zone (Amazon's `2024-03-03T22:06:39.224Z`), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        return None
    try:
        moment = parse_iso(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _get(name: str, **options: Any) -> Any:
    """Powertools' cached get_secret through our own client (its timeouts and deadline), with its
    catch-all GetParameterError undone: the caller sees the AWS error itself, or what is wrong."""
    try:
        return _provider(aws.client("secretsmanager")).get(name, max_age=MAX_AGE_SECONDS, **options)
    except TransformParameterError:
        raise ConfigurationError(name, "secret is not valid JSON") from None
    except GetParameterError as exc:
        cause = exc.__context__
        missing = isinstance(cause, ClientError) and cause.response["Error"].get("Code") == "ResourceNotFoundException"
        if missing:
            raise ConfigurationError(name, "secret does not exist") from None
        if cause is None:
            raise
        raise cause from None


@functools.cache
def _provider(client: Any) -> parameters.SecretsProvider:
    # One provider (and its cache) per client: a fresh client (tests, the local stack) starts a fresh cache.
    return parameters.SecretsProvider(boto3_client=client)
