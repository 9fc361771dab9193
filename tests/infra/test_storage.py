"""The key, the table and the secrets: encrypted with the stack's key, retained, shaped as the code expects."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from sellertoken import names
from tests.infra.helpers import RESTORE_CONTEXT, iam_statements


def test_key_rotates_and_outlives_the_stack(default):
    key = default.one("AWS::KMS::Key", "StorageKey")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def test_key_policy_delegates_to_iam_without_a_wildcard_action(default):
    statement = default.one("AWS::KMS::Key", "StorageKey")["Properties"]["KeyPolicy"]["Statement"][0]
    assert statement["Sid"] == "AccountIamPoliciesDecide"
    assert "kms:PutKeyPolicy" in statement["Action"]  # the policy stays manageable
    assert not any("*" in action for action in statement["Action"])


def test_table_has_the_shared_key_schema_ttl_on_demand_billing_and_pitr(default):
    default.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "KeySchema": [{"AttributeName": names.TABLE_PARTITION_KEY, "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": names.TABLE_PARTITION_KEY, "AttributeType": "S"}],
                "TimeToLiveSpecification": {"AttributeName": names.TABLE_TTL_ATTRIBUTE, "Enabled": True},
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        },
    )


def test_table_is_encrypted_with_the_customer_managed_key(default):
    sse = default.one("AWS::DynamoDB::Table", "Table")["Properties"]["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyId"] == {"Fn::GetAtt": [_key_id(default), "Arn"]}


def test_both_secrets_use_the_key_and_are_retained(default):
    secrets = default.resources("AWS::SecretsManager::Secret")
    assert {s["Properties"]["Name"] for s in secrets.values()} == {
        names.app_secret_name(),
        names.state_key_secret_name(),
    }
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [_key_id(default), "Arn"]}
        assert secret["DeletionPolicy"] == "Retain"


def test_app_secret_starts_as_the_documented_json_shape_with_empty_values(default):
    secret = default.one("AWS::SecretsManager::Secret", "AppSecret")["Properties"]
    assert json.loads(secret["SecretString"]) == {field: "" for field in names.APP_SECRET_FIELDS}


def test_state_key_is_generated_with_64_characters(default):
    default.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": names.state_key_secret_name(), "GenerateSecretString": Match.object_like({"PasswordLength": 64})},
    )


def _key_id(synth) -> str:
    (key_id,) = [k for k in synth.resources("AWS::KMS::Key") if k.startswith("Storage")]  # not the queue's
    return key_id


def test_a_redeployment_reuses_the_retained_key_and_secrets_instead_of_creating_new_ones(restored):
    assert [k for k in restored.resources("AWS::KMS::Key") if k.startswith("Storage")] == []
    restored.template.resource_count_is("AWS::SecretsManager::Secret", 0)
    sse = restored.one("AWS::DynamoDB::Table", "Table")["Properties"]["SSESpecification"]
    assert sse["KMSMasterKeyId"] == RESTORE_CONTEXT["kmsKeyArn"]
    oauth = iam_statements(restored.json, "OAuth")
    resources = [r for s in oauth for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    for key in ("kmsKeyArn", "appSecretArn", "stateKeySecretArn"):
        assert RESTORE_CONTEXT[key] in resources, key
