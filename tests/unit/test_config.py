"""Configuration: every required setting present, malformed values named, overrides origin-only."""

from __future__ import annotations

import pytest

from sellertoken import config, names
from sellertoken.config import DEFAULT_LWA_ENDPOINT, require_redirect_uri
from sellertoken.errors import ConfigurationError

REQUIRED = {
    names.ENV_TABLE_NAME: "sellertoken",
    names.ENV_KMS_KEY_ID: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    names.ENV_EVENT_BUS_NAME: "sellertoken",
}
URL_VARIABLES = (
    names.ENV_LWA_ENDPOINT,
    names.ENV_REDIRECT_URI,
    names.ENV_SUCCESS_URL,
    names.ENV_CONSENT_BASE_URL,
    names.ENV_SPAPI_BASE_URL,
)
BASE_URL_VARIABLES = (names.ENV_CONSENT_BASE_URL, names.ENV_SPAPI_BASE_URL)


def load_with(**overrides: str) -> config.Config:
    return config.load({**REQUIRED, **overrides})


def rejected_variable(environ: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        config.load(environ)
    return caught.value


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_missing_required_variable_is_named(variable):
    # Given the environment without one required variable
    environ = {k: v for k, v in REQUIRED.items() if k != variable}

    # When it is loaded, Then the error names that variable
    error = rejected_variable(environ)
    assert error.variable == variable
    assert variable in str(error)


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_blank_required_variable_counts_as_missing(variable):
    error = rejected_variable({**REQUIRED, variable: "   "})

    assert error.variable == variable


def test_complete_environment_is_parsed_into_typed_settings():
    # Given every setting
    environ = {
        **REQUIRED,
        names.ENV_PREFIX: "acme-prod",
        names.ENV_LWA_ENDPOINT: "https://lwa.example.test/auth/o2/token",
        names.ENV_APP_IS_DRAFT: "true",
        names.ENV_REDIRECT_URI: "https://broker.example.test/callback",
        names.ENV_SUCCESS_URL: "https://app.example.test/connected?x=1",
        names.ENV_CONSENT_BASE_URL: "http://127.0.0.1:9000",
        names.ENV_SPAPI_BASE_URL: "http://127.0.0.1:9001",
    }

    # When it is loaded
    loaded = config.load(environ)

    # Then each value lands in its field
    assert loaded == config.Config(
        prefix="acme-prod",
        table_name=REQUIRED[names.ENV_TABLE_NAME],
        kms_key_id=REQUIRED[names.ENV_KMS_KEY_ID],
        event_bus_name=REQUIRED[names.ENV_EVENT_BUS_NAME],
        lwa_endpoint="https://lwa.example.test/auth/o2/token",
        app_is_draft=True,
        redirect_uri="https://broker.example.test/callback",
        success_url="https://app.example.test/connected?x=1",
        consent_base_url="http://127.0.0.1:9000",
        spapi_base_url="http://127.0.0.1:9001",
    )


def test_optional_settings_default_to_amazon_and_the_default_prefix():
    loaded = config.load(REQUIRED)

    assert loaded.prefix == names.DEFAULT_PREFIX
    assert loaded.lwa_endpoint == DEFAULT_LWA_ENDPOINT == "https://api.amazon.com/auth/o2/token"
    assert loaded.app_is_draft is False
    assert (loaded.redirect_uri, loaded.success_url) == (None, None)
    assert (loaded.consent_base_url, loaded.spapi_base_url) == (None, None)


@pytest.mark.parametrize("prefix", ["bad prefix", "/sellertoken", "-leading-dash", "a" * 65, "naïve"])
def test_malformed_prefix_is_named(prefix):
    error = rejected_variable({**REQUIRED, names.ENV_PREFIX: prefix})

    assert error.variable == names.ENV_PREFIX


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("", False),
    ],
)
def test_app_is_draft_accepts_the_usual_spellings(raw, expected):
    assert load_with(**{names.ENV_APP_IS_DRAFT: raw}).app_is_draft is expected


@pytest.mark.parametrize("raw", ["maybe", "on", "2", "ture"])
def test_malformed_boolean_is_named_not_read_as_false(raw):
    error = rejected_variable({**REQUIRED, names.ENV_APP_IS_DRAFT: raw})

    assert error.variable == names.ENV_APP_IS_DRAFT


@pytest.mark.parametrize("variable", URL_VARIABLES)
@pytest.mark.parametrize("url", ["api.amazon.com/auth/o2/token", "ftp://api.amazon.com/x", "https://", "javascript:x"])
def test_malformed_url_is_named(variable, url):
    error = rejected_variable({**REQUIRED, variable: url})

    assert error.variable == variable


@pytest.mark.parametrize("variable", BASE_URL_VARIABLES)
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/apps", "http://127.0.0.1:9000/?x=1", "http://127.0.0.1:9000#frag"]
)
def test_base_url_override_with_path_query_or_fragment_is_rejected(variable, url):
    error = rejected_variable({**REQUIRED, variable: url})

    assert error.variable == variable
    assert "base URL" in str(error)


@pytest.mark.parametrize("variable", BASE_URL_VARIABLES)
def test_base_url_override_loses_its_trailing_slash(variable):
    loaded = load_with(**{variable: "http://127.0.0.1:9000/"})

    field = "consent_base_url" if variable == names.ENV_CONSENT_BASE_URL else "spapi_base_url"
    assert getattr(loaded, field) == "http://127.0.0.1:9000"


def test_redirect_uri_keeps_its_path_and_query():
    # Only the base URL overrides are origin-only: the redirect URI is registered with Amazon verbatim
    loaded = load_with(**{names.ENV_REDIRECT_URI: "https://broker.example.test/callback?tenant=7"})

    assert loaded.redirect_uri == "https://broker.example.test/callback?tenant=7"


def test_require_redirect_uri_names_the_variable_when_unset():
    loaded = config.load(REQUIRED)

    with pytest.raises(ConfigurationError) as caught:
        require_redirect_uri(loaded)
    assert caught.value.variable == names.ENV_REDIRECT_URI


def test_require_redirect_uri_returns_the_configured_uri():
    loaded = load_with(**{names.ENV_REDIRECT_URI: "https://broker.example.test/callback"})

    assert require_redirect_uri(loaded) == "https://broker.example.test/callback"


def test_get_config_parses_the_process_environment_once(monkeypatch):
    # Given a valid process environment, read once
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(names.ENV_PREFIX, raising=False)
    first = config.get_config()

    # When the environment changes afterwards
    monkeypatch.setenv(names.ENV_TABLE_NAME, "changed")

    # Then the cold-start configuration is reused
    assert config.get_config() is first
    assert first.table_name == REQUIRED[names.ENV_TABLE_NAME]


def test_the_revocation_bound_defaults_to_a_minute():
    assert config.load(REQUIRED).revocation_bound_seconds == 60.0


def test_a_short_revocation_bound_is_accepted_in_seconds():
    assert load_with(**{names.ENV_REVOCATION_BOUND_SECONDS: "2.5"}).revocation_bound_seconds == 2.5


@pytest.mark.parametrize("raw", ["0", "0.5", "3601", "-60", "a minute", "nan"])
def test_a_revocation_bound_out_of_range_or_malformed_is_named(raw):
    error = rejected_variable({**REQUIRED, names.ENV_REVOCATION_BOUND_SECONDS: raw})

    assert error.variable == names.ENV_REVOCATION_BOUND_SECONDS


def test_the_vendor_central_override_is_a_base_url_of_its_own():
    loaded = load_with(**{names.ENV_VENDOR_CONSENT_BASE_URL: "http://127.0.0.1:9001/"})

    assert (loaded.vendor_consent_base_url, loaded.consent_base_url) == ("http://127.0.0.1:9001", None)
    with pytest.raises(ConfigurationError) as raised:
        load_with(**{names.ENV_VENDOR_CONSENT_BASE_URL: "http://127.0.0.1:9001/consent"})
    assert raised.value.variable == names.ENV_VENDOR_CONSENT_BASE_URL


def test_the_proof_window_is_one_sweep_period_unless_set():
    default = config.load(REQUIRED)
    hourly = load_with(**{names.ENV_SWEEP_PERIOD_SECONDS: "3600"})
    set_apart = load_with(**{names.ENV_SWEEP_PERIOD_SECONDS: "3600", names.ENV_SWEEP_PROOF_SECONDS: "0"})

    assert (default.sweep_period_seconds, default.sweep_proof_seconds) == (21600.0, 21600.0)
    assert (hourly.sweep_proof_seconds, set_apart.sweep_proof_seconds) == (3600.0, 0.0)


def test_the_fleets_lwa_rate_defaults_to_50_per_second_and_0_turns_it_off():
    assert config.load(REQUIRED).lwa_rate_per_second == 50.0
    assert load_with(**{names.ENV_LWA_RATE_PER_SECOND: "0"}).lwa_rate_per_second == 0.0


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        (names.ENV_SWEEP_PERIOD_SECONDS, "0"),
        (names.ENV_SWEEP_PERIOD_SECONDS, "two days"),
        (names.ENV_SWEEP_PROOF_SECONDS, "-1"),
        (names.ENV_SWEEP_PROOF_SECONDS, "172801"),
        (names.ENV_LWA_RATE_PER_SECOND, "-5"),
        (names.ENV_LWA_RATE_PER_SECOND, "unlimited"),
    ],
)
def test_a_sweep_period_proof_window_or_lwa_rate_out_of_range_is_named(variable, raw):
    assert rejected_variable({**REQUIRED, variable: raw}).variable == variable
