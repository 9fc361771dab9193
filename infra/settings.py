"""Deployment settings read once from CDK context (`cdk.json` or `-c key=value`) and validated.

A malformed value fails the synth with the key's name; nothing falls back silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from sellertoken import names

# context key -> what it sets (docs/deploy.md shows the same table).
CONTEXT_KEYS = {
    "prefix": "resource prefix: secret names, the sweep function's name (default sellertoken)",
    "appSecretArn": "complete ARN of an existing app credentials secret named {prefix}/app",
    "stateKeySecretArn": "complete ARN of an existing state key secret named {prefix}/state-key",
    "kmsKeyArn": "ARN of an existing KMS key (the retained key of an earlier deployment)",
    "eventBusName": "existing EventBridge bus to publish to (default: the account's default bus)",
    "alarmEmail": "email address subscribed to the alarm topic (no topic without it)",
    "successUrl": "where the browser goes after a successful consent (default: a plain page)",
    "appIsDraft": "true while the app is a draft: consent URLs carry version=beta (default true)",
    "domainName": "custom domain for the consent API (needs certificateArn)",
    "certificateArn": "ACM certificate for domainName, in the stack's region",
    "vendProvisionedConcurrency": "provisioned concurrency of the vend alias (default 0)",
    "sweepRateHours": "hours between grant sweeps, 1 to 12 (default 6)",
    "rotateAfterDays": "rotate the LWA client secret once it is this old, 1 to 150 (default 150), notice or not",
    "sweepProofHours": "a refresh this recent counts as the sweep's check, 0 to 48 (default: sweepRateHours)",
    "lwaRatePerSecond": "LWA calls per second for the whole fleet, 0 (no budget) to 10000 (default 50)",
}

_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SettingsError(ValueError):
    """A context value is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Settings:
    prefix: str = names.DEFAULT_PREFIX
    app_secret_arn: str | None = None
    state_key_secret_arn: str | None = None
    kms_key_arn: str | None = None
    event_bus_name: str = "default"
    alarm_email: str | None = None
    success_url: str | None = None
    app_is_draft: bool = True
    domain_name: str | None = None
    certificate_arn: str | None = None
    vend_provisioned_concurrency: int = 0
    sweep_rate_hours: int = 6
    rotate_after_days: int = 150
    sweep_proof_hours: int = 6
    lwa_rate_per_second: int = 50

    @classmethod
    def from_context(cls, scope: Construct) -> Settings:
        def get(key: str) -> Any:
            value = scope.node.try_get_context(key)
            return None if value in (None, "") else value

        prefix = get("prefix") or names.DEFAULT_PREFIX
        sweep_hours = _int("sweepRateHours", get("sweepRateHours"), 6, 1, 12)
        settings = cls(
            prefix=_match("prefix", prefix, _PREFIX),
            app_secret_arn=_secret_arn("appSecretArn", get("appSecretArn"), names.app_secret_name(prefix)),
            state_key_secret_arn=_secret_arn(
                "stateKeySecretArn", get("stateKeySecretArn"), names.state_key_secret_name(prefix)
            ),
            kms_key_arn=_optional_match("kmsKeyArn", get("kmsKeyArn"), r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/"),
            event_bus_name=get("eventBusName") or "default",
            alarm_email=_optional_match("alarmEmail", get("alarmEmail"), _EMAIL),
            success_url=_optional_match("successUrl", get("successUrl"), r"^https://\S+$"),
            app_is_draft=_bool("appIsDraft", get("appIsDraft"), default=True),
            domain_name=_optional_match("domainName", get("domainName"), _DOMAIN),
            certificate_arn=_optional_match(
                "certificateArn", get("certificateArn"), r"^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate/"
            ),
            vend_provisioned_concurrency=_int(
                "vendProvisionedConcurrency", get("vendProvisionedConcurrency"), 0, 0, 1000
            ),
            sweep_rate_hours=sweep_hours,
            sweep_proof_hours=_int("sweepProofHours", get("sweepProofHours"), sweep_hours, 0, 48),
            lwa_rate_per_second=_int("lwaRatePerSecond", get("lwaRatePerSecond"), 50, 0, 10000),
            rotate_after_days=_int("rotateAfterDays", get("rotateAfterDays"), 150, 1, 150),
        )
        if bool(settings.domain_name) != bool(settings.certificate_arn):
            raise SettingsError("context domainName and certificateArn go together: set both or neither")
        return settings


def _match(key: str, value: Any, pattern: str | re.Pattern[str]) -> str:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise SettingsError(f"context {key}={value!r} is malformed ({CONTEXT_KEYS[key]})")
    return value


def _optional_match(key: str, value: Any, pattern: str | re.Pattern[str]) -> str | None:
    return None if value is None else _match(key, value, pattern)


def _secret_arn(key: str, value: Any, expected_name: str) -> str | None:
    # The functions find their secrets by name ({prefix}/app), so an imported one must carry it;
    # a complete ARN ends with the 6-character suffix Secrets Manager adds.
    pattern = rf"^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{{12}}:secret:{re.escape(expected_name)}-[A-Za-z0-9]{{6}}$"
    return _optional_match(key, value, pattern)


def _bool(key: str, value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SettingsError(f"context {key}={value!r} must be true or false")


def _int(key: str, value: Any, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        raise SettingsError(f"context {key}={value!r} must be an integer from {low} to {high}")
    return number
