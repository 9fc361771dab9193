"""IAM policy evaluation, offline, for the statements a synthesized CloudFormation template holds.

Evaluation follows IAM's rules for one identity policy set: an explicit Deny wins, else any Allow,
else the request is implicitly denied. Action and NotAction match case-insensitively, Resource and
NotResource case-sensitively, both with IAM's wildcards (`*` any run of characters, `?` one, across
`:` and `/`). Conditions support the operators below; anything else raises, so that a statement this
evaluator does not understand can never pass silently.

Why not a library: moto's access_control (already pinned) turns `?` and `.` into regular-expression
syntax, treats an Allow whose condition does not match as a Deny and knows no NotResource; the
maintained simulators are Node packages (@cloud-copilot/iam-simulate) that the tests would have to run
in a subprocess. The statements CDK emits are simple enough that this file, with its unit tests
(tests/unit/test_iam_policy.py), is the smaller thing to trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# What the template's pseudo parameters stand for when ARNs are compared.
PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"


class Unsupported(Exception):
    """A policy element or template construct the evaluator cannot judge: the check fails on it."""


# -- the template ---------------------------------------------------------------------------------


class Template:
    """Resolves CloudFormation values (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub) to strings.

    A resource without an explicit physical name gets its logical id as one: a stand-in for the name
    CloudFormation would generate, used consistently for the resource's Ref and its ARN.
    """

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Any] = template["Resources"]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self._get_att(logical_id, attribute)
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(self._text(p) for p in self.resolve(parts))
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self._text(index))]
            if function == "Fn::Split":
                separator, text = argument
                return self._text(text).split(separator)
            if function == "Fn::Sub":
                return self._sub(argument)
        raise Unsupported(f"cannot resolve {value!r}")

    def of_type(self, type_: str) -> dict[str, Any]:
        return {k: r for k, r in self.resources.items() if r["Type"] == type_}

    def _text(self, value: Any) -> str:
        resolved = self.resolve(value)
        if not isinstance(resolved, str):
            raise Unsupported(f"{value!r} is not a string")
        return resolved

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        type_, properties = self._resource(name)
        if type_ == "AWS::SecretsManager::Secret":
            return self._secret_arn(name, properties)
        if type_ in ("AWS::SNS::Topic", "AWS::Lambda::Alias", "AWS::Lambda::Version"):
            return self._arn(name, type_, properties)
        if type_ == "AWS::SQS::Queue":  # a queue's Ref is its URL
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self._physical_name(name, type_, properties)}"
        return self._physical_name(name, type_, properties)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        type_, properties = self._resource(logical_id)
        if attribute == "Arn":
            return self._arn(logical_id, type_, properties)
        if type_ == "AWS::ApiGatewayV2::Api" and attribute == "ApiEndpoint":
            return f"https://{logical_id}.execute-api.{REGION}.amazonaws.com"
        raise Unsupported(f"Fn::GetAtt {logical_id}.{attribute} ({type_})")

    def _arn(self, logical_id: str, type_: str, properties: Mapping[str, Any]) -> str:
        name = self._physical_name(logical_id, type_, properties)
        arns = {
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::SecretsManager::Secret": self._secret_arn(logical_id, properties),
        }
        if type_ == "AWS::Lambda::Alias":
            function = self._text(properties["FunctionName"])
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{function}:{self._text(properties['Name'])}"
        if type_ not in arns:
            raise Unsupported(f"the ARN of {logical_id} ({type_})")
        return arns[type_]

    def _secret_arn(self, logical_id: str, properties: Mapping[str, Any]) -> str:
        # A secret's ARN ends in "-" and six random characters: IAM's `?` stands for each of them.
        name = self._text(properties["Name"]) if "Name" in properties else logical_id
        return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-??????"

    def _physical_name(self, logical_id: str, type_: str, properties: Mapping[str, Any]) -> str:
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::SQS::Queue": "QueueName",
        }.get(type_)
        if name_property and name_property in properties:
            return self._text(properties[name_property])
        return logical_id

    def _resource(self, logical_id: str) -> tuple[str, Mapping[str, Any]]:
        if logical_id not in self.resources:
            raise Unsupported(f"no resource {logical_id} in the template")
        resource = self.resources[logical_id]
        return resource["Type"], resource.get("Properties", {})

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self._text(variables[name])
            if "." in name:
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", value, text)


# -- statements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One policy statement with its values resolved to strings."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: bool = False
    not_resources: bool = False
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    source: str = ""  # where it came from, for messages

    @classmethod
    def parse(cls, raw: Mapping[str, Any], template: Template, source: str = "") -> Statement:
        unknown = set(raw) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
        if unknown or "Principal" in raw or "NotPrincipal" in raw:
            raise Unsupported(f"{source}: statement elements {sorted(unknown)} in an identity policy")
        if raw["Effect"] not in ("Allow", "Deny"):
            raise Unsupported(f"{source}: Effect {raw['Effect']!r}")
        action_key = "NotAction" if "NotAction" in raw else "Action"
        resource_key = "NotResource" if "NotResource" in raw else "Resource"
        conditions = raw.get("Condition") or {}
        resolved = {op: {k: _as_list(template.resolve(v)) for k, v in c.items()} for op, c in conditions.items()}
        return cls(
            effect=raw["Effect"],
            actions=tuple(_as_list(template.resolve(raw[action_key]))),
            resources=tuple(_as_list(template.resolve(raw[resource_key]))),
            not_actions=action_key == "NotAction",
            not_resources=resource_key == "NotResource",
            conditions=resolved or None,
            source=source,
        )

    def matches_action(self, action: str) -> bool:
        hit = any(wildcard_match(pattern, action, case_sensitive=False) for pattern in self.actions)
        return hit != self.not_actions

    def matches_resource(self, resource: str) -> bool:
        hit = any(wildcard_match(pattern, resource) for pattern in self.resources)
        return hit != self.not_resources

    def applies(self, action: str, resource: str, context: Mapping[str, str | list[str]]) -> bool:
        return (
            self.matches_action(action)
            and self.matches_resource(resource)
            and conditions_hold(self.conditions or {}, context)
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    allowed_by: tuple[Statement, ...] = ()
    denied_by: tuple[Statement, ...] = ()


def evaluate(
    statements: Iterable[Statement], action: str, resource: str, context: Mapping[str, str | list[str]] | None = None
) -> Decision:
    """IAM's decision for one request against one identity's statements."""
    context = context or {}
    applicable = [s for s in statements if s.applies(action, resource, context)]
    denied = tuple(s for s in applicable if s.effect == "Deny")
    allowed = tuple(s for s in applicable if s.effect == "Allow")
    return Decision(allowed=bool(allowed) and not denied, allowed_by=allowed, denied_by=denied)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    if "${" in pattern:
        raise Unsupported(f"policy variables in {pattern!r}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


# -- conditions -----------------------------------------------------------------------------------


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_like(expected: str, actual: str) -> bool:
    return wildcard_match(expected, actual)


def _bool(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), False),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_equals, False),
    "ArnNotEquals": (_string_equals, True),
    "ArnLike": (_string_like, False),
    "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
}


def conditions_hold(conditions: Mapping[str, Mapping[str, list[str]]], context: Mapping[str, str | list[str]]) -> bool:
    """Every operator block holds (AND); within one key any expected value matches (OR)."""
    for operator, block in conditions.items():
        name, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
        if name not in _OPERATORS or ":" in name:
            raise Unsupported(f"condition operator {operator}")
        compare, negated = _OPERATORS[name]
        for key, expected in block.items():
            if key not in context:
                if if_exists or negated:
                    continue  # IAM: a missing key makes ...IfExists and the negated operators true
                return False
            actual = _as_list(context[key])
            hit = any(compare(e, a) for e in expected for a in actual)
            if hit == negated:
                return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
