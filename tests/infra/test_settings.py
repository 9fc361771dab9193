"""Context values are validated at synth: a malformed one fails with its key's name."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from infra.settings import Settings, SettingsError

APP_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sellertoken/app-AbC123"


def _settings(**context) -> Settings:
    return Settings.from_context(cdk.App(context=context))


def test_defaults_need_no_context():
    settings = _settings()
    assert (settings.prefix, settings.event_bus_name, settings.app_is_draft) == ("sellertoken", "default", True)
    assert (settings.sweep_rate_hours, settings.vend_provisioned_concurrency, settings.rotate_after_days) == (6, 0, 150)


def test_strings_from_the_command_line_are_parsed():
    settings = _settings(appIsDraft="false", sweepRateHours="3", vendProvisionedConcurrency="5")
    assert (settings.app_is_draft, settings.sweep_rate_hours, settings.vend_provisioned_concurrency) == (False, 3, 5)


def test_the_proof_window_follows_the_sweep_period_unless_set_and_the_lwa_rate_may_be_turned_off():
    assert (_settings(sweepRateHours="3").sweep_proof_hours, _settings().lwa_rate_per_second) == (3, 50)
    settings = _settings(sweepRateHours="3", sweepProofHours="0", lwaRatePerSecond="0")
    assert (settings.sweep_proof_hours, settings.lwa_rate_per_second) == (0, 0)


def test_an_imported_app_secret_must_carry_the_name_the_functions_look_up():
    assert _settings(appSecretArn=APP_SECRET_ARN).app_secret_arn == APP_SECRET_ARN
    with pytest.raises(SettingsError, match="appSecretArn"):
        _settings(appSecretArn=APP_SECRET_ARN.replace("sellertoken/app", "other/app"))
    with pytest.raises(SettingsError, match="appSecretArn"):
        _settings(appSecretArn=APP_SECRET_ARN.removesuffix("-AbC123"))  # partial ARN


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sweepRateHours", "13"),
        ("sweepRateHours", "often"),
        ("sweepProofHours", "49"),
        ("sweepProofHours", "-1"),
        ("lwaRatePerSecond", "fast"),
        ("lwaRatePerSecond", "10001"),
        ("vendProvisionedConcurrency", "-1"),
        ("appIsDraft", "maybe"),
        ("prefix", "Has Spaces"),
        ("alarmEmail", "not-an-email"),
        ("successUrl", "http://insecure.example.com"),
        ("kmsKeyArn", "alias/sellertoken"),
        ("rotateAfterDays", "151"),  # Amazon's deadline is 180 days: a month is left to fix a refused rotation
        ("rotateAfterDays", "0"),
    ],
)
def test_malformed_values_fail_with_the_key_name(key, value):
    with pytest.raises(SettingsError, match=key):
        _settings(**{key: value})


def test_a_custom_domain_needs_its_certificate():
    with pytest.raises(SettingsError, match="certificateArn"):
        _settings(domainName="consent.example.com")
