"""The application's LWA credentials, read from the `{prefix}/app` secret and cached briefly."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities import parameters

from sellertoken import names
from sellertoken.errors import ConfigurationError

# Short enough that a rotated client secret is picked up within minutes; a rejected secret is
# re-read at once (see lwa.py), so rotation never waits for this.
_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str = ""
    application_id: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"AppCredentials(client_id={self.client_id!r}, application_id={self.application_id!r})"


def load(prefix: str, *, force: bool = False) -> AppCredentials:
    name = names.app_secret_name(prefix)
    value = parameters.get_secret(name, transform="json", max_age=_MAX_AGE_SECONDS, force_fetch=force)
    missing = [f for f in names.APP_SECRET_FIELDS if not isinstance(value, dict) or not value.get(f)]
    if missing:
        raise ConfigurationError(name, f"secret lacks {', '.join(missing)}")
    return AppCredentials(**{f: value[f] for f in names.APP_SECRET_FIELDS})


def state_key(prefix: str) -> bytes:
    """The OAuth state signing key (at least 32 bytes)."""
    name = names.state_key_secret_name(prefix)
    value = parameters.get_secret(name, max_age=_MAX_AGE_SECONDS)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < 32:
        raise ConfigurationError(name, "state key must hold at least 32 bytes")
    return key
