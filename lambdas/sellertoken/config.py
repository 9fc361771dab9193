"""Configuration, read once from environment variables into a typed object.

A missing or malformed setting raises ConfigurationError naming the variable, so a misconfigured
function fails at cold start instead of at the first seller's request.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sellertoken import names
from sellertoken.errors import ConfigurationError

DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
DEFAULT_SWEEP_PERIOD_SECONDS = 6 * 3600.0  # infra's default schedule (sweepRateHours 6)
# Amazon publishes no LWA rate limit (reference §2); the sweep's own default pace, for the whole fleet.
DEFAULT_LWA_RATE_PER_SECOND = 50.0
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+=.@-]{0,63}$")


@dataclass(frozen=True)
class Config:
    prefix: str
    table_name: str
    kms_key_id: str
    event_bus_name: str
    lwa_endpoint: str
    app_is_draft: bool
    # Consent function only (None elsewhere).
    redirect_uri: str | None
    success_url: str | None
    # Local stack and tests point Amazon's hosts elsewhere; None means Amazon's real hosts.
    consent_base_url: str | None
    spapi_base_url: str | None
    # Sweep: parallel checks, LWA requests per second, seconds kept in reserve before continuing.
    sweep_concurrency: int = 8
    sweep_rate_per_second: float = 50.0
    sweep_time_margin_seconds: int = 60
    # Sweep: how often the schedule starts one, and how recent a successful refresh (by vend or the sweep)
    # must be to count as the grant's check (0: every run refreshes every grant).
    sweep_period_seconds: float = DEFAULT_SWEEP_PERIOD_SECONDS
    sweep_proof_seconds: float = DEFAULT_SWEEP_PERIOD_SECONDS
    # Vend: no container serves a flagged grant's cached token longer than this after the flag.
    revocation_bound_seconds: float = 60.0
    # Rotation: rotate a client secret this old even if no expiry notice came (the safety net), and the
    # queue Amazon's notifications arrive on (rotation function only; None elsewhere).
    rotate_after_days: int = 150
    notification_queue_url: str | None = None
    # Vendor Central elsewhere than consent_base_url (the local stack serves it on a port of its own, so that
    # the host tells a vendor's consent from a seller's as Amazon's hosts do); None: consent_base_url.
    vendor_consent_base_url: str | None = None
    # LWA calls per second the whole fleet may make (0: no fleet-wide budget; see budget.py).
    lwa_rate_per_second: float = DEFAULT_LWA_RATE_PER_SECOND


def load(environ: Mapping[str, str]) -> Config:
    """Parse and validate every setting; raises ConfigurationError naming the first bad variable."""
    period = _number(environ, names.ENV_SWEEP_PERIOD_SECONDS, DEFAULT_SWEEP_PERIOD_SECONDS, 1.0, 86400.0)
    return Config(
        prefix=_optional(environ, names.ENV_PREFIX, _PREFIX_PATTERN.fullmatch) or names.DEFAULT_PREFIX,
        table_name=_required(environ, names.ENV_TABLE_NAME),
        kms_key_id=_required(environ, names.ENV_KMS_KEY_ID),
        event_bus_name=_required(environ, names.ENV_EVENT_BUS_NAME),
        lwa_endpoint=_url(environ, names.ENV_LWA_ENDPOINT) or DEFAULT_LWA_ENDPOINT,
        app_is_draft=_boolean(environ, names.ENV_APP_IS_DRAFT),
        redirect_uri=_url(environ, names.ENV_REDIRECT_URI),
        success_url=_url(environ, names.ENV_SUCCESS_URL),
        consent_base_url=_url(environ, names.ENV_CONSENT_BASE_URL, origin_only=True),
        spapi_base_url=_url(environ, names.ENV_SPAPI_BASE_URL, origin_only=True),
        sweep_concurrency=int(_number(environ, names.ENV_SWEEP_CONCURRENCY, 8, 1, 64)),
        sweep_rate_per_second=_number(environ, names.ENV_SWEEP_RATE_PER_SECOND, 50.0, 0.1, 1000.0),
        sweep_time_margin_seconds=int(_number(environ, names.ENV_SWEEP_TIME_MARGIN_SECONDS, 60, 1, 600)),
        sweep_period_seconds=period,
        sweep_proof_seconds=_number(environ, names.ENV_SWEEP_PROOF_SECONDS, period, 0.0, 172800.0),
        revocation_bound_seconds=_number(environ, names.ENV_REVOCATION_BOUND_SECONDS, 60.0, 1.0, 3600.0),
        # At least a month before Amazon's 180-day deadline, so that a refused rotation has time to be fixed.
        rotate_after_days=int(_number(environ, names.ENV_ROTATE_AFTER_DAYS, 150, 1, 150)),
        notification_queue_url=_url(environ, names.ENV_NOTIFICATION_QUEUE_URL),
        vendor_consent_base_url=_url(environ, names.ENV_VENDOR_CONSENT_BASE_URL, origin_only=True),
        lwa_rate_per_second=_number(environ, names.ENV_LWA_RATE_PER_SECOND, DEFAULT_LWA_RATE_PER_SECOND, 0.0, 10000.0),
    )


@functools.cache
def get_config() -> Config:
    """The process-wide configuration, parsed on first use (cold start) and then reused."""
    return load(os.environ)


def require_redirect_uri(config: Config) -> str:
    if not config.redirect_uri:
        raise ConfigurationError(names.ENV_REDIRECT_URI, "is required by the consent function")
    return config.redirect_uri


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(name, "is required and not set")
    return value


def _optional(environ: Mapping[str, str], name: str, valid) -> str | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not valid(value):
        raise ConfigurationError(name, "is malformed")
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "false", "0", "no"):
        return False
    if value in ("true", "1", "yes"):
        return True
    raise ConfigurationError(name, "must be true or false")


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(name, "must be a number") from None
    if not low <= number <= high:
        raise ConfigurationError(name, f"must be between {low:g} and {high:g}")
    return number


def _url(environ: Mapping[str, str], name: str, *, origin_only: bool = False) -> str | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(name, "must be an absolute http(s) URL")
    if origin_only and (parts.path.strip("/") or parts.query or parts.fragment):
        raise ConfigurationError(name, "must be a base URL without path, query or fragment")
    return value.rstrip("/") if origin_only else value
