"""Small readers of a synthesized template, shared by the infra tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# Every optional feature switched on, so that one synth covers them all.
FULL_CONTEXT = {
    "alarmEmail": "ops@example.com",
    "domainName": "consent.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b7a6a5e-0000-4000-8000-000000000000",
    "eventBusName": "sellers",
    "successUrl": "https://seller.example.com/connected",
    "appIsDraft": "false",
    "vendProvisionedConcurrency": "2",
    "sweepRateHours": "4",
    "rotateAfterDays": "120",
}
# Redeploying over the retained key and secrets of an earlier deployment (docs/deploy.md).
RESTORE_CONTEXT = {
    "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c-0000-4000-8000-000000000000",
    "appSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sellertoken/app-AbC123",
    "stateKeySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sellertoken/state-key-XyZ789",
}

POLICY_DOCUMENT_KEYS = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(logical id, resource type, statement) for every policy statement of every resource."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [properties[k] for k in POLICY_DOCUMENT_KEYS if k in properties]
        documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, resource["Type"], statement


def iam_statements(template: dict[str, Any], role_part: str) -> list[dict[str, Any]]:
    """Statements of the IAM policies attached to the role whose logical id contains role_part."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = json.dumps(resource["Properties"]["Roles"])
        if role_part in roles:
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    assert found, f"no policy for a role matching {role_part!r}"
    return found


def actions_on(statements_: list[dict[str, Any]], resource_suffix: str) -> set[str]:
    """Actions allowed on resources whose rendered form ends with resource_suffix."""
    return {
        action
        for s in statements_
        if any(json.dumps(r).rstrip('"]}').endswith(resource_suffix) for r in as_list(s["Resource"]))
        for action in as_list(s["Action"])
    }


def function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    matches = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    assert len(matches) == 1, handler
    return matches[0]
