"""Where state lives: the KMS key, the app and state-key secrets, the grants prefix, the table.

Everything here is retained when the stack is deleted: grants are irreplaceable (a seller would have
to authorize again), and they are only readable with this key.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.checks import acknowledge
from infra.key import create_key, use_statement
from infra.settings import Settings
from sellertoken import names

STATE_KEY_LENGTH = 64


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        prefix = settings.prefix
        self.key: kms.IKey = (
            kms.Key.from_key_arn(self, "ImportedKey", settings.kms_key_arn)
            if settings.kms_key_arn
            else create_key(self, "Key", prefix)
        )
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=names.TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=names.TABLE_TTL_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.app_secret_arn = settings.app_secret_arn or self._app_secret(settings.prefix)
        self.state_key_secret_arn = settings.state_key_secret_arn or self._state_key_secret(settings.prefix)
        self.grants_arn = Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{names.grants_prefix(prefix)}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # How cdk-nag prints that ARN in its finding id.
        self._grants_arn_finding = (
            f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{names.grants_prefix(prefix)}*"
        )

    # The secrets are L1 resources on purpose: the L2 Secret adds key-policy statements with
    # wildcard actions (kms:GenerateDataKey*, kms:ReEncrypt*) that the key policy already covers.
    def _app_secret(self, prefix: str) -> str:
        # Placeholders, not credentials: the operator fills the real values after deployment
        # (docs/deploy.md). CloudFormation sets the value only at creation and when this template
        # text changes, so later deployments leave the operator's value alone.
        placeholder = json.dumps({field: "" for field in names.APP_SECRET_FIELDS})
        secret = secretsmanager.CfnSecret(
            self,
            "AppSecret",
            name=names.app_secret_name(prefix),
            description=f"LWA app credentials, JSON: {placeholder}",
            secret_string=placeholder,
            kms_key_id=self.key.key_arn,
        )
        return _retained(
            secret,
            "Secrets Manager's rotation does not apply: Amazon issues LWA client secrets (every 180 days) and "
            "delivers the new one to the notification queue, and the rotation function (infra/rotation.py) "
            "stores it as a new version of this secret.",
        )

    def _state_key_secret(self, prefix: str) -> str:
        secret = secretsmanager.CfnSecret(
            self,
            "StateKeySecret",
            name=names.state_key_secret_name(prefix),
            description="HMAC key that signs OAuth consent state",
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                password_length=STATE_KEY_LENGTH, exclude_punctuation=True
            ),
            kms_key_id=self.key.key_arn,
        )
        return _retained(
            secret,
            "Rotating the state signing key would break consents in flight for no "
            "gain: it signs only single-use state that expires in minutes. Replace it by "
            "hand if it is ever exposed.",
        )

    def grant_grants(self, grantee: iam.IGrantable, *actions: str) -> None:
        """Secrets Manager actions on every grant secret ({prefix}/grants/*) and nothing else."""
        _add(
            grantee, iam.PolicyStatement(actions=[f"secretsmanager:{a}" for a in actions], resources=[self.grants_arn])
        )
        # One secret per seller, created at consent time: only a name prefix can scope them.
        acknowledge(
            grantee.grant_principal,
            f"AwsSolutions-IAM5[Resource::{self._grants_arn_finding}]",
            "Grant secrets are created per seller at consent time, so they can only be scoped by "
            "their name prefix {prefix}/grants/; nothing else in the account matches it.",
        )

    def grant_read_secret(self, grantee: iam.IGrantable, secret_arn: str) -> None:
        _add(grantee, iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]))

    def grant_table(self, grantee: iam.IGrantable, *actions: str) -> None:
        _add(grantee, iam.PolicyStatement(actions=[f"dynamodb:{a}" for a in actions], resources=[self.table.table_arn]))

    def grant_key(self, grantee: iam.IGrantable, *, writes_secrets: bool = True) -> None:
        """Use of the key through Secrets Manager and DynamoDB; a role that writes no secret value only decrypts."""
        _add(grantee, use_statement(self.key, writes_secrets=writes_secrets))


def _add(grantee: iam.IGrantable, statement: iam.PolicyStatement) -> None:
    grantee.grant_principal.add_to_principal_policy(statement)


def _retained(secret: secretsmanager.CfnSecret, no_rotation_reason: str) -> str:
    secret.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(secret, "AwsSolutions-SMG4", no_rotation_reason)
    return secret.ref  # the secret's complete ARN
