"""The application's LWA credentials, read from the `{prefix}/app` secret and cached briefly."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellertoken import aws, names
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
    value = _get(name, transform="json", force_fetch=force)
    missing = [f for f in names.APP_SECRET_FIELDS if not isinstance(value, dict) or not value.get(f)]
    if missing:
        raise ConfigurationError(name, f"secret lacks {', '.join(missing)}")
    return AppCredentials(**{f: value[f] for f in names.APP_SECRET_FIELDS})


def state_key(prefix: str) -> bytes:
    """The OAuth state signing key (at least 32 bytes)."""
    name = names.state_key_secret_name(prefix)
    value = _get(name)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < 32:
        raise ConfigurationError(name, "state key must hold at least 32 bytes")
    return key


def _get(name: str, **options: Any) -> Any:
    """Powertools' cached get_secret through our own client (its timeouts and deadline), with its
    catch-all GetParameterError undone: the caller sees the AWS error itself, or what is wrong."""
    try:
        return _provider(aws.client("secretsmanager")).get(name, max_age=_MAX_AGE_SECONDS, **options)
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
