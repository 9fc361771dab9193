"""Shared fixtures: fake AWS credentials, caches cleared between tests, a Lambda context."""

from __future__ import annotations

import os

import pytest

# The IAM check: records each function's AWS calls and checks them against its policy (tests/iam).
pytest_plugins = ("tests.iam.plugin",)

# Never let a test reach a real AWS account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Module-level caches (config, boto3 clients, HTTP sessions, Powertools parameters) start empty."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    from sellertoken import aws, config, httpclient

    def clear() -> None:
        config.get_config.cache_clear()
        aws.reset()
        httpclient.reset()
        parameters.clear_caches()
        DEFAULT_PROVIDERS.clear()

    clear()
    yield
    clear()
