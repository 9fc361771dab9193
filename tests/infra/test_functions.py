"""Every function (names.FUNCTION_HANDLERS): runtime, architecture, tracing, logs, limits and environment."""

from __future__ import annotations

import pytest

from infra.function import RUNTIME
from sellertoken import names
from tests.infra.helpers import function

HANDLERS = tuple(names.FUNCTION_HANDLERS.values())  # every registered function is deployed
COMMON_ENVIRONMENT = (
    names.ENV_PREFIX,
    names.ENV_TABLE_NAME,
    names.ENV_KMS_KEY_ID,
    names.ENV_EVENT_BUS_NAME,
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
)


def test_there_are_exactly_the_four_functions(default):
    assert sorted(f["Properties"]["Handler"] for f in default.resources("AWS::Lambda::Function").values()) == sorted(
        HANDLERS
    )


@pytest.mark.parametrize("handler", HANDLERS)
def test_function_runs_arm64_python_with_active_tracing_and_its_own_log_group(default, handler):
    props = function(default.json, handler)
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == RUNTIME.name == "python3.13"
    assert props["TracingConfig"] == {"Mode": "Active"}
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert default.json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize("handler", HANDLERS)
def test_function_gets_every_shared_setting_and_the_powertools_names(each, handler):
    variables = function(each.json, handler)["Environment"]["Variables"]
    assert set(COMMON_ENVIRONMENT) <= set(variables)
    assert variables["POWERTOOLS_SERVICE_NAME"] == names.SERVICE_NAME
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == names.METRICS_NAMESPACE
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"  # tokens never reach X-Ray
    key = variables[names.ENV_KMS_KEY_ID]  # the key's ARN, not its id
    assert key["Fn::GetAtt"][1] == "Arn" if isinstance(key, dict) else key.startswith("arn:aws:kms:")


def test_timeouts_and_memory_fit_each_job(default):
    oauth, vend, sweep, ops, rotation = (function(default.json, h) for h in HANDLERS)
    timeouts = (oauth["Timeout"], vend["Timeout"], sweep["Timeout"], ops["Timeout"], rotation["Timeout"])
    assert timeouts == (15, 30, 900, 30, 30)
    assert vend["MemorySize"] == 512


def test_sweep_is_named_capped_and_allowed_to_continue_itself(default):
    sweep = function(default.json, "handlers.sweep.handler")
    assert sweep["FunctionName"] == f"{names.DEFAULT_PREFIX}-sweep"
    assert sweep["ReservedConcurrentExecutions"] == 2
    assert sweep["RecursiveLoop"] == "Allow"


def test_only_the_consent_function_gets_redirect_draft_and_success_settings(full):
    oauth = function(full.json, "handlers.oauth.handler")["Environment"]["Variables"]
    assert oauth[names.ENV_APP_IS_DRAFT] == "false"
    assert oauth[names.ENV_SUCCESS_URL] == "https://seller.example.com/connected"
    assert oauth[names.ENV_REDIRECT_URI] == "https://consent.example.com/callback"
    for handler in ("handlers.vend.handler", "handlers.sweep.handler", "handlers.ops.handler"):
        variables = function(full.json, handler)["Environment"]["Variables"]
        assert names.ENV_REDIRECT_URI not in variables and names.ENV_SUCCESS_URL not in variables


def test_app_is_a_draft_unless_the_context_says_otherwise(default):
    oauth = function(default.json, "handlers.oauth.handler")["Environment"]["Variables"]
    assert oauth[names.ENV_APP_IS_DRAFT] == "true"
    assert names.ENV_SUCCESS_URL not in oauth


def test_roles_carry_no_managed_policies(each):
    for role in each.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_vend_is_invoked_through_an_alias_with_the_configured_provisioned_concurrency(full, default):
    alias = full.one("AWS::Lambda::Alias", "Vending")["Properties"]
    assert alias["Name"] == "live"
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    assert "ProvisionedConcurrencyConfig" not in default.one("AWS::Lambda::Alias", "Vending")["Properties"]
    (alias_id,) = full.resources("AWS::Lambda::Alias")
    assert full.json["Outputs"]["VendFunctionArn"]["Value"] == {"Ref": alias_id}


def test_ops_is_named_from_the_prefix_so_the_cli_finds_it(default):
    assert function(default.json, "handlers.ops.handler")["FunctionName"] == names.function_name("ops")
    assert default.json["Outputs"]["OpsFunctionName"]["Value"]
