"""What a recorded AWS call asks IAM: its action, the ARNs of the resources it acts on in the deployed
stack, and the KMS use it implies on a customer-managed key.

A recorded call names resources the way the function found them (devstack/awscalls.py): a configured
name as `${VARIABLE}`, a prefixed one as `${SELLERTOKEN_PREFIX}…`. Here each variable takes the value
the function's environment has in the template, so the check is about the deployed resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sellertoken import names
from tests.iam.policy import ACCOUNT, PARTITION, REGION, Template, Unsupported

# Operations whose IAM action has another name than the operation.
ACTION_NAMES = {("lambda", "Invoke"): "lambda:InvokeFunction"}
# Actions that support no resource-level permission: IAM evaluates them against "*".
UNSCOPED = {"secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword", "secretsmanager:BatchGetSecretValue"}

# KMS use on a customer-managed key that an operation implies, made by the service with the caller's
# permissions.
# Secrets Manager (docs: "Secret encryption and decryption", sections "How Secrets Manager uses your KMS key"
# and "Permissions for the KMS key"): GetSecretValue calls Decrypt; a new value (CreateSecret with a value,
# PutSecretValue, UpdateSecret) calls GenerateDataKey, and the user "must have" kms:GenerateDataKey and
# kms:Decrypt (Decrypt also validates the key when one is set, and checks idempotent retries).
# DynamoDB (KMS developer guide, "How Amazon DynamoDB uses AWS KMS"): any access to an encrypted table
# decrypts its table key with Decrypt as "the principal in your AWS account who is accessing the table";
# the table key's GenerateDataKey is DynamoDB's own, made once when the table is created.
SECRET_VALUE_WRITES = {"CreateSecret", "PutSecretValue", "UpdateSecret"}
DYNAMODB_ITEM_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}


@dataclass(frozen=True)
class Call:
    """One distinct AWS call of one function (repeats are counted, not kept)."""

    function: str
    service: str
    operation: str
    names: tuple[tuple[str, Any], ...]  # resource-naming fields, as recorded

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Call:
        frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in record["names"].items()))
        return cls(record["function"], record["service"], record["operation"], frozen)

    @property
    def action(self) -> str:
        return ACTION_NAMES.get((self.service, self.operation), f"{self.service}:{self.operation}")

    def field(self, name: str) -> Any:
        return dict(self.names).get(name)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.names)
        return f"{self.function}: {self.action}({shown})"


@dataclass(frozen=True)
class Request:
    """What IAM is asked: may the function's role do `action` on `resource`?"""

    action: str
    resource: str
    because: str = ""  # for an implied request: the call that implies it


class Environment:
    """A function's configuration in the template: what `${VARIABLE}` stands for in its recorded calls."""

    def __init__(self, template: Template, variables: Mapping[str, Any]) -> None:
        self.template = template
        self.variables = variables

    def value(self, variable: str) -> str:
        if variable not in self.variables:
            raise Unsupported(f"the function's environment has no {variable}")
        return template_text(self.template, self.variables[variable])

    def expand(self, recorded: str) -> str:
        """A recorded name with its `${VARIABLE}` parts replaced by the template's values."""
        if not recorded.startswith("${"):
            return recorded
        variable, rest = recorded[2:].split("}", 1)
        return self.value(variable) + rest


def requests(call: Call, env: Environment) -> list[Request]:
    """The requests IAM evaluates for a call: its own action on each resource it names, then implied KMS use."""
    action = call.action
    own = [Request(action, arn) for arn in _resources(call, env)]
    return own + _implied_kms(call, env, own)


def _resources(call: Call, env: Environment) -> list[str]:
    if call.action in UNSCOPED:
        return ["*"]
    if call.service == "secretsmanager":
        name = call.field("SecretId") or call.field("Name")
        if not isinstance(name, str):
            raise Unsupported(f"{call}: no secret named")
        return [secret_arn(env.expand(name))]
    if call.service == "dynamodb" and isinstance(call.field("TableName"), str):
        return [f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{env.expand(call.field('TableName'))}"]
    if call.action == "events:PutEvents":
        buses = call.field("EventBusName") or ("default",)
        return sorted({bus_arn(env.expand(bus)) for bus in buses})
    if call.service == "sqs" and isinstance(call.field("QueueUrl"), str):
        return [queue_arn(env.expand(call.field("QueueUrl")))]
    if call.action == "lambda:InvokeFunction":
        function = env.expand(call.field("FunctionName"))
        qualifier = call.field("Qualifier")
        arn = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{function}"
        return [f"{arn}:{qualifier}" if qualifier else arn]
    raise Unsupported(f"{call}: no rule for the resources of {call.action} (add one in tests/iam/calls.py)")


def _implied_kms(call: Call, env: Environment, own: list[Request]) -> list[Request]:
    if call.service == "secretsmanager" and call.operation == "GetSecretValue":
        actions = ("kms:Decrypt",)
    elif call.service == "sqs" and call.operation == "ReceiveMessage":
        actions = ("kms:Decrypt",)
    elif call.service == "secretsmanager" and call.operation in SECRET_VALUE_WRITES:
        actions = ("kms:GenerateDataKey", "kms:Decrypt")
    elif call.service == "dynamodb" and call.operation in DYNAMODB_ITEM_OPERATIONS:
        actions = ("kms:Decrypt",)
    else:
        return []
    keys = {key for request in own if (key := encryption_key(request.resource, call, env))}
    return [Request(a, key, because=str(call)) for key in sorted(keys) for a in actions]


def encryption_key(resource_arn: str, call: Call, env: Environment) -> str | None:
    """The customer-managed key that encrypts a secret or table of the stack (None: an AWS-managed key)."""
    template = env.template
    if ":secretsmanager:" in resource_arn:
        for secret in template.of_type("AWS::SecretsManager::Secret").values():
            properties = secret["Properties"]
            if "Name" in properties and secret_arn(template_text(template, properties["Name"])) == resource_arn:
                return template_text(template, properties["KmsKeyId"]) if "KmsKeyId" in properties else None
        # Not a secret of the template: a grant, created at run time with the key the function is
        # configured with. The recording shows which key the call named.
        if call.operation == "CreateSecret" and call.field("KmsKeyId") != f"${{{names.ENV_KMS_KEY_ID}}}":
            raise Unsupported(f"{call}: creates a secret with a key other than {names.ENV_KMS_KEY_ID}")
        return env.value(names.ENV_KMS_KEY_ID)
    if ":sqs:" in resource_arn:
        # SQS developer guide, "Configuring KMS permissions": a consumer of an SSE-KMS queue needs kms:Decrypt.
        for logical_id, queue in template.of_type("AWS::SQS::Queue").items():
            if template.resolve({"Fn::GetAtt": [logical_id, "Arn"]}) == resource_arn:
                key = queue["Properties"].get("KmsMasterKeyId")
                return template_text(template, key) if key is not None else None
        return None
    if ":dynamodb:" in resource_arn:
        for logical_id, table in template.of_type("AWS::DynamoDB::Table").items():
            if f"table/{template.resolve({'Ref': logical_id})}" == resource_arn.split(":", 5)[5]:
                sse = table["Properties"].get("SSESpecification", {})
                return template_text(template, sse["KMSMasterKeyId"]) if "KMSMasterKeyId" in sse else None
    return None  # not a table of the stack: the call itself is not allowed


def secret_arn(name: str) -> str:
    # The six random characters of a real ARN; any six match the template's `-??????`.
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbC123"


def queue_arn(url: str) -> str:
    """The ARN of the queue a URL names: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or moto's host)."""
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:{PARTITION}:sqs:{REGION}:{account if account.isdigit() else ACCOUNT}:{name}"


def bus_arn(name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{name}"


def template_text(template: Template, value: Any) -> str:
    resolved = template.resolve(value)
    if not isinstance(resolved, str):
        raise Unsupported(f"{value!r} is not a string")
    return resolved
