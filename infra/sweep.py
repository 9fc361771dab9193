"""The scheduled sweep that checks every grant and continues itself, page by page, with a cursor."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.function import SellerTokenFunction
from infra.shared import Shared
from sellertoken import names

# ListSecrets already returns each grant's tags, so the sweep needs no DescribeSecret. PutSecretValue:
# a refresh keeps a new refresh token should LWA ever return one (vending.Vendor, shared with vend);
# without it the sweep would fail on that grant and lose the token.
GRANT_ACTIONS = ("GetSecretValue", "TagResource", "UntagResource", "PutSecretValue")
# Run records and grant health (PutItem, UpdateItem, DeleteItem); the shared cache it warms and clears;
# GetItem: each grant's proof of refresh (its token item's minted_at), the latest run's record, and the
# LWA budget (UpdateItem takes a slot, GetItem looks for a pause after a wait).
TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
# One sweep plus the continuation it starts before it ends: the design needs one spare, and the
# cap keeps a runaway continuation from eating the account's concurrency.
RESERVED_CONCURRENCY = 2


class Validation(Construct):
    """The sweep function and the schedule that starts it (the domain's run is sellertoken.sweep.Sweep)."""

    def __init__(self, scope: Construct, construct_id: str, shared: Shared) -> None:
        super().__init__(scope, construct_id)
        settings = shared.settings
        self.period = Duration.hours(settings.sweep_rate_hours)
        # Named explicitly so that the self-invoke permission below can name the function's ARN
        # without referencing the function (which would make the role depend on its own function).
        function_name = names.function_name("sweep", settings.prefix)
        self.sweep = SellerTokenFunction(
            self,
            "Sweep",
            code=shared.code,
            handler=names.FUNCTION_HANDLERS["sweep"],
            description="Checks every grant on a schedule; flags revocations",
            environment=shared.environment,
            function_name=function_name,
            timeout=Duration.minutes(15),
            # CPU scales with memory: at 256 MB (0.14 vCPU) the checks' ~6 ms of CPU each would cap the
            # sweep near 20 grants/s, below its 50/s LWA rate (BENCHMARKS.md, section B).
            memory_size=1024,
            reserved_concurrency=RESERVED_CONCURRENCY,
            # Lambda stops a chain of self-invocations after 16 hops; a sweep of many grants needs
            # more pages than that. The reserved concurrency above is the guard rail instead.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
            unscoped_actions="secretsmanager:ListSecrets (the sweep lists grants by name prefix; it "
            "returns names and tags, never values).",
        )
        self_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.sweep.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self_arn]),
            # ListSecrets supports no resource-level permissions: AWS requires Resource "*". It
            # returns names and tags only (no secret values); values stay scoped to the grants prefix.
            iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"]),
        )
        shared.grant_broker_access(self.sweep.role, grant_actions=GRANT_ACTIONS, table_actions=TABLE_ACTIONS)
        eventbridge.Rule(
            self,
            "Schedule",
            description="Starts a grant sweep",
            schedule=eventbridge.Schedule.rate(self.period),
            targets=[targets.LambdaFunction(self.sweep.function)],
        )
