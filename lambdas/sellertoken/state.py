"""OAuth `state`: HMAC-signed, expiring, bound to the browser by a cookie, single-use.

The state is `base64url(json claims) "." base64url(HMAC-SHA256)`. The browser gets a random
nonce in a `__Host-` cookie and the claims carry its SHA-256, so a state lifted from a URL is
useless in another browser. Single use: the first callback writes `state#<id>` to the table
with a conditional put; a replay finds it there. Issuing a state writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from sellertoken import aws, names, table

STATE_TTL_SECONDS = 600
# Containers' clocks may differ a little; a state that claims to live longer than that is not ours.
CLOCK_SKEW_SECONDS = 30
STATE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
COOKIE_NAME = "__Host-sellertoken-state"
# The state /authorize issued, kept by the browser so that /login knows the flow it started when Amazon sends
# that browser through the Login URI (its claims are signed and bound to COOKIE_NAME's nonce like any state).
FLOW_COOKIE_NAME = "__Host-sellertoken-flow"
MAX_STATE_LENGTH = 1024


class InvalidState(Exception):
    """The state is missing, tampered, expired, replayed, or not this browser's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StateClaims:
    state_id: str
    region: str
    account_type: str
    reference: str | None
    expires_at: int


@dataclass(frozen=True)
class IssuedState:
    state: str
    cookie_value: str
    claims: StateClaims


def issue(
    key: bytes, *, region: str, account_type: str, reference: str | None, now: float | None = None
) -> IssuedState:
    nonce = secrets.token_urlsafe(32)
    claims = StateClaims(
        state_id=secrets.token_urlsafe(16),
        region=region,
        account_type=account_type,
        reference=reference,
        expires_at=int(now if now is not None else time.time()) + STATE_TTL_SECONDS,
    )
    payload = {
        "id": claims.state_id,
        "r": claims.region,
        "t": claims.account_type,
        "exp": claims.expires_at,
        "b": _digest(nonce),
    }
    if reference is not None:
        payload["ref"] = reference
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return IssuedState(state=f"{body}.{_b64(_sign(key, body))}", cookie_value=nonce, claims=claims)


def peek(key: bytes, state: str) -> StateClaims | None:
    """The claims of a state we signed, whether or not it expired or belongs to this browser."""
    try:
        return _open(key, state)[0]
    except InvalidState:
        return None


def verify(key: bytes, state: str | None, cookie_value: str | None, now: float | None = None) -> StateClaims:
    """Check signature, expiry and browser binding. Writes nothing."""
    if not state:
        raise InvalidState("missing")
    claims, binding = _open(key, state)
    moment = int(now if now is not None else time.time())
    if claims.expires_at <= moment:
        raise InvalidState("expired")
    if claims.expires_at > moment + STATE_TTL_SECONDS + CLOCK_SKEW_SECONDS:
        raise InvalidState("malformed")  # signed, but never issued like this: trust none of its claims
    if not cookie_value:
        raise InvalidState("cookie missing")
    if not hmac.compare_digest(_digest(cookie_value), binding):
        raise InvalidState("cookie does not match")
    return claims


def _open(key: bytes, state: str) -> tuple[StateClaims, str]:
    if len(state) > MAX_STATE_LENGTH or state.count(".") != 1 or not state.isascii():
        raise InvalidState("malformed")
    body, signature = state.split(".")
    try:
        given = _unb64(signature)
    except ValueError:
        raise InvalidState("malformed") from None
    if not hmac.compare_digest(given, _sign(key, body)):
        raise InvalidState("tampered")
    try:
        payload = json.loads(_unb64(body))
        claims = StateClaims(
            state_id=str(payload["id"]),
            region=str(payload["r"]),
            account_type=str(payload["t"]),
            reference=payload.get("ref"),
            expires_at=int(payload["exp"]),
        )
        binding = str(payload["b"])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise InvalidState("malformed") from None
    # Signed is not the same as well-formed: the id becomes a table key, the reference a URL parameter.
    if not STATE_ID.fullmatch(claims.state_id) or not isinstance(claims.reference, str | None):
        raise InvalidState("malformed")
    return claims, binding


def consume(table_name: str, claims: StateClaims) -> None:
    """Mark the state used; a second call for the same state raises InvalidState('replayed')."""
    try:
        aws.client("dynamodb").put_item(
            TableName=table_name,
            Item={
                **table.key(table.state_key(claims.state_id)),
                names.TABLE_TTL_ATTRIBUTE: {"N": str(claims.expires_at)},
            },
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": names.TABLE_PARTITION_KEY},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise InvalidState("replayed") from None
        raise


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def _digest(nonce: str) -> str:
    return _b64(hashlib.sha256(nonce.encode()).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the canonical unpadded form we issue decodes (no padding, no stray characters)."""
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data
