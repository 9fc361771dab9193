"""Least privilege: no wildcard action anywhere, "*" resources only where AWS requires them, exact grants."""

from __future__ import annotations

import json

from sellertoken import names
from tests.infra.helpers import actions_on, as_list, iam_statements, statements

# Actions that support no resource-level permissions, so AWS requires Resource "*".
UNSCOPABLE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "secretsmanager:ListSecrets"}
GRANTS_ARN_SUFFIX = f":secret:{names.grants_prefix()}*"


def test_no_statement_anywhere_allows_a_wildcard_action(each):
    for logical_id, _, statement in statements(each.json):
        assert "NotAction" not in statement, logical_id
        if _denies_plain_http(statement):
            continue  # `sqs:*` there takes away, it grants nothing (cdk-nag SQS4 asks for exactly this)
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{logical_id}: {action}"


def _denies_plain_http(statement: dict) -> bool:
    return statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}


def test_star_resources_only_for_unscopable_actions_or_in_the_key_policy(each):
    for logical_id, type_, statement in statements(each.json):
        if "*" not in as_list(statement.get("Resource", [])):
            continue
        # In a key policy "*" means the key itself.
        assert type_ == "AWS::KMS::Key" or set(as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS, logical_id


def test_only_the_sweep_may_list_secrets(default):
    listers = {
        logical_id
        for logical_id, _, s in statements(default.json)
        if "secretsmanager:ListSecrets" in as_list(s["Action"])
    }
    assert len(listers) == 1 and "Sweep" in next(iter(listers))
    (statement,) = [s for s in iam_statements(default.json, "Sweep") if s["Action"] == "secretsmanager:ListSecrets"]
    assert statement["Resource"] == "*"


def test_consent_function_manages_grant_secrets_under_the_prefix_only(default):
    # GetSecretValue: a consent reads the stored grant to check the new token is the same account's.
    policy = iam_statements(default.json, "OAuth")
    assert actions_on(policy, GRANTS_ARN_SUFFIX) == {
        f"secretsmanager:{a}"
        for a in (
            "CreateSecret",
            "PutSecretValue",
            "TagResource",
            "UntagResource",
            "DescribeSecret",
            "GetSecretValue",
            "RestoreSecret",
        )
    }


def test_vend_reads_grants_tags_them_and_never_creates_or_untags_one(default):
    assert actions_on(iam_statements(default.json, "Vend"), GRANTS_ARN_SUFFIX) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:TagResource",
        "secretsmanager:PutSecretValue",  # keeps a new refresh token, should LWA ever rotate one
    }


def test_sweep_reads_and_retags_grants_and_keeps_a_rotated_token_but_never_creates_one(default):
    assert actions_on(iam_statements(default.json, "Sweep"), GRANTS_ARN_SUFFIX) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
        "secretsmanager:PutSecretValue",  # the refresh it shares with vend keeps a new refresh token
    }


def test_every_function_may_use_the_key_publish_events_and_read_the_app_secret(default):
    (key_id,) = [k for k in default.resources("AWS::KMS::Key") if k.startswith("Storage")]
    (app_secret_id,) = [k for k in default.resources("AWS::SecretsManager::Secret") if "AppSecret" in k]
    # Ops writes no secret value (it moves version stages), so it only decrypts.
    key_use = {"OAuth": {"kms:Decrypt", "kms:GenerateDataKey"}, "Ops": {"kms:Decrypt"}}
    for role in ("OAuth", "Vend", "Sweep", "Ops"):
        policy = iam_statements(default.json, role)
        expected = key_use.get(role, {"kms:Decrypt", "kms:GenerateDataKey"})
        assert _actions_for(policy, {"Fn::GetAtt": [key_id, "Arn"]}) == expected
        assert "secretsmanager:GetSecretValue" in _actions_for(policy, {"Ref": app_secret_id})
        assert "events:PutEvents" in actions_on(policy, ":event-bus/default")


def test_ops_moves_version_stages_and_retags_grants_but_never_creates_or_writes_a_value(default):
    assert actions_on(iam_statements(default.json, "Ops"), GRANTS_ARN_SUFFIX) == {
        f"secretsmanager:{a}"
        for a in ("DescribeSecret", "GetSecretValue", "UpdateSecretVersionStage", "TagResource", "UntagResource")
    }


def test_only_ops_may_move_a_grants_version_stages(default):
    movers = {
        k for k, _, s in statements(default.json) if "secretsmanager:UpdateSecretVersionStage" in as_list(s["Action"])
    }
    assert len(movers) == 1 and "Ops" in next(iter(movers))


def test_ops_may_only_write_the_revocation_feed_and_drop_cache_entries_in_the_table(default):
    actions = {
        a for s in iam_statements(default.json, "Ops") for a in as_list(s["Action"]) if a.startswith("dynamodb:")
    }
    assert actions == {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def test_only_the_consent_function_reads_the_state_key(default):
    (state_key_id,) = [k for k in default.resources("AWS::SecretsManager::Secret") if "StateKey" in k]
    readers = [k for k, _, s in statements(default.json) if s.get("Resource") == {"Ref": state_key_id}]
    assert len(readers) == 1 and "OAuth" in readers[0]


def test_sweep_may_invoke_itself_by_name_without_referencing_its_own_function(default):
    policy = iam_statements(default.json, "Sweep")
    (invoke,) = [s for s in policy if s["Action"] == "lambda:InvokeFunction"]
    assert json.dumps(invoke["Resource"]).endswith(f':function:{names.DEFAULT_PREFIX}-sweep"]]}}')
    assert "Fn::GetAtt" not in json.dumps(invoke["Resource"])


def test_grant_vend_lets_another_stack_invoke_the_alias_and_nothing_else(full):
    caller = json.loads((full.outdir / "Caller.template.json").read_text())
    (policy,) = [r for r in caller["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    (alias_id,) = full.resources("AWS::Lambda::Alias")
    assert statement["Action"] == "lambda:InvokeFunction"
    assert f"ExportsOutputRef{alias_id}" in statement["Resource"]["Fn::ImportValue"]


def _actions_for(policy: list[dict], resource: dict) -> set[str]:
    return {a for s in policy if resource in as_list(s["Resource"]) for a in as_list(s["Action"])}
