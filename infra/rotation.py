"""LWA client-secret rotation: the queue Amazon's notifications arrive on, its dead-letter queue and key, and
the rotation function fed by the queue, by an hourly schedule and by operators (`sellertoken app …`).

Encryption: SSE-KMS with a key of its own, not SSE-SQS. The new client secret travels in a message body, and
with SSE-SQS any principal of the account allowed sqs:ReceiveMessage could read it; with a customer managed key
the reader must also be allowed kms:Decrypt on this key, and every use is in CloudTrail. SP-API's delivery
supports it when the key policy lets Amazon's notification account (437568002678) GenerateDataKey and Decrypt
(SAMPLES auth-lifecycle-management lib/SpApiOauthStack.ts, the notifications key; MWS/SP-API SQS guides). A key
of its own because Amazon's account gets a grant on it: the stack's key, which guards the grants, grants
nothing outside the account. The grant is limited to use through SQS in this region (kms:ViaService, as in the
key policy AWS writes for SQS's own managed key).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.function import SellerTokenFunction
from infra.key import ACCOUNT_KEY_ACTIONS
from infra.outputs import output
from infra.shared import Shared
from sellertoken import names

# The AWS account SP-API sends notifications from (reference §4: SAMPLES QuickStart; DOCS
# set-up-credential-rotation-notifications, "Set Principal to 437568002678").
SP_API_NOTIFICATION_ACCOUNT = "437568002678"
# What that account may do to the queue (the same DOCS page: SendMessage and GetQueueAttributes) and the key.
SENDER_QUEUE_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
SENDER_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# What Lambda's event source mapping does with the function's role (Lambda developer guide, "Using Lambda with
# Amazon SQS": the AWSLambdaSQSQueueExecutionRole actions), and kms:Decrypt to read an SSE-KMS queue.
CONSUMER_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
TIMEOUT = Duration.seconds(30)
# Lambda asks for a visibility timeout of at least six times the function's timeout on an event source queue.
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)
RETENTION = Duration.days(14)  # a notice outlives a long outage of the function (SQS's maximum)
CHECK_EVERY = Duration.hours(1)
# The new secret arrives in seconds; Amazon rotates at most once a minute: two concurrent batches suffice.
MAX_CONCURRENCY = 2
# The state record (rotationstate.py): read, and changed by conditional updates only.
TABLE_ACTIONS = ("GetItem", "UpdateItem")


class Rotation(Construct):
    def __init__(self, scope: Construct, construct_id: str, shared: Shared) -> None:
        super().__init__(scope, construct_id)
        settings = shared.settings
        self.key = self._key(settings.prefix)
        self.dead_letters = self._queue("DeadLetters")
        self.queue = self._queue(
            "Notifications",
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=names.NOTIFICATION_MAX_RECEIVES
            ),
        )
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SellingPartnerApiSendsNotifications",
                principals=[iam.AccountPrincipal(SP_API_NOTIFICATION_ACCOUNT)],
                actions=list(SENDER_QUEUE_ACTIONS),
                resources=[self.queue.queue_arn],
            )
        )
        self.function = SellerTokenFunction(
            self,
            "Rotation",
            code=shared.code,
            handler=names.FUNCTION_HANDLERS["rotation"],
            # A fixed name, so that the CLI finds it from the prefix alone.
            function_name=names.function_name("rotation", settings.prefix),
            description="Rotates the LWA client secret: Amazon's notices, an hourly check, operators",
            environment={
                **shared.environment,
                names.ENV_NOTIFICATION_QUEUE_URL: self.queue.queue_url,
                names.ENV_ROTATE_AFTER_DAYS: str(settings.rotate_after_days),
            },
            timeout=TIMEOUT,
        )
        role = self.function.role
        # Reads the app secret and writes its new version (storage.grant_key: GenerateDataKey and Decrypt).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
                resources=[shared.storage.app_secret_arn],
            )
        )
        shared.storage.grant_key(role)
        shared.storage.grant_table(role, *TABLE_ACTIONS)
        shared.events.grant_put_events(role)
        self.function.add_to_policy(
            iam.PolicyStatement(actions=list(CONSUMER_QUEUE_ACTIONS), resources=[self.queue.queue_arn]),
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.key.key_arn]),
        )
        lambda_.EventSourceMapping(
            self,
            "NoticesToFunction",
            target=self.function.function,
            event_source_arn=self.queue.queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        eventbridge.Rule(
            self,
            "Check",
            description="The hourly look at the LWA client secret: the age safety net, retries, reminders",
            schedule=eventbridge.Schedule.rate(CHECK_EVERY),
            targets=[targets.LambdaFunction(self.function.function)],
        )
        output(
            self,
            "NotificationQueueArn",
            self.queue.queue_arn,
            "Register in the Developer Console for Application Client Secret Expiry and New Secret",
        )
        output(self, "RotationFunctionName", self.function.function.function_name, "sellertoken app (operators)")

    def _queue(self, construct_id: str, **options: Any) -> sqs.Queue:
        """A queue under the construct's own key, kept RETENTION, reachable over TLS only."""
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            retention_period=RETENTION,
            enforce_ssl=True,
            **options,
        )

    def _key(self, prefix: str) -> kms.Key:
        account = Stack.of(self)
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountIamPoliciesDecide",
                    principals=[iam.AccountRootPrincipal()],
                    actions=list(ACCOUNT_KEY_ACTIONS),
                    resources=["*"],  # in a key policy "*" means this key
                ),
                iam.PolicyStatement(
                    sid="SellingPartnerApiEncryptsNotifications",
                    principals=[iam.AccountPrincipal(SP_API_NOTIFICATION_ACCOUNT)],
                    actions=list(SENDER_KEY_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{account.region}.amazonaws.com"}},
                ),
            ]
        )
        return kms.Key(
            self,
            "Key",
            description=f"{prefix}: Amazon's client-secret notifications queue",
            enable_key_rotation=True,
            policy=policy,
            # Only messages in flight are encrypted with it; they go with the queues.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
