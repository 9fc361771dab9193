"""The customer-managed KMS key that encrypts grants, app credentials, the table and the alarm topic."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# The key policy lets the account's IAM policies decide who may use the key, like KMS's default
# policy, but names the actions instead of "kms:*" so that no statement in this stack holds a
# wildcard action. PutKeyPolicy is listed, so the policy itself stays manageable.
ACCOUNT_KEY_ACTIONS = tuple(
    f"kms:{action}"
    for action in """
    CancelKeyDeletion CreateAlias CreateGrant Decrypt DeleteAlias DescribeKey DisableKey
    DisableKeyRotation EnableKey EnableKeyRotation Encrypt GenerateDataKey
    GenerateDataKeyWithoutPlaintext GetKeyPolicy GetKeyRotationStatus ListGrants ListKeyPolicies
    ListKeyRotations ListResourceTags PutKeyPolicy ReEncryptFrom ReEncryptTo RetireGrant
    RevokeGrant RotateKeyOnDemand ScheduleKeyDeletion TagResource UntagResource UpdateAlias
    UpdateKeyDescription
""".split()
)
# What the functions' calls through Secrets Manager and DynamoDB use the key for, with their permissions:
# Decrypt to read a secret or the table, GenerateDataKey to write a secret value (Secrets Manager user
# guide, "Secret encryption and decryption"; KMS developer guide, "How Amazon DynamoDB uses AWS KMS").
# No function calls KMS itself. The IAM check (tests/iam) proves each is used and suffices.
USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
READ_ACTIONS = ("kms:Decrypt",)
# What EventBridge and CloudWatch need to publish to a topic encrypted with the key.
PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def create_key(scope: Construct, construct_id: str, prefix: str) -> kms.Key:
    policy = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AccountIamPoliciesDecide",
                principals=[iam.AccountRootPrincipal()],
                actions=list(ACCOUNT_KEY_ACTIONS),
                # In a key policy "*" means this key; KMS rejects any other resource here.
                resources=["*"],
            )
        ]
    )
    key = kms.Key(
        scope,
        construct_id,
        description=f"{prefix}: Seller grants, app credentials, state table and alarm topic",
        enable_key_rotation=True,
        policy=policy,
        removal_policy=RemovalPolicy.RETAIN,
    )
    # The alias is only a handle for people: it goes with the stack, the key stays.
    key.add_alias(f"alias/{prefix}").apply_removal_policy(RemovalPolicy.DESTROY)
    return key


def allow_service_publish(key: kms.IKey, service: str) -> None:
    """Lets an AWS service of this account publish to an SNS topic encrypted with the key."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service)],
            actions=list(PUBLISH_ACTIONS),
            resources=["*"],  # a key policy's resource is always "*": this key
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(key).account}},
        )
    )


def use_statement(key: kms.IKey, *, writes_secrets: bool = True) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(USE_ACTIONS if writes_secrets else READ_ACTIONS), resources=[key.key_arn])
