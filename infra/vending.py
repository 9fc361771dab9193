"""The vend function other AWS services invoke for an access token, behind a stable alias."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.function import SellerTokenFunction
from infra.outputs import output
from infra.shared import Shared
from sellertoken import names

ALIAS_NAME = names.LIVE_ALIAS
# Reads the grant and its status tags; tags it revoked when LWA answers invalid_grant; stores a new
# refresh token should LWA ever return one (grants.replace_refresh_token).
GRANT_ACTIONS = ("GetSecretValue", "DescribeSecret", "TagResource", "PutSecretValue")
# Shared access-token cache and refresh leases (a lease is a conditional PutItem, released by DeleteItem);
# the revocation feed, read by every container and written (UpdateItem) when a vend meets invalid_grant.
TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")


class Vending(Construct):
    def __init__(self, scope: Construct, construct_id: str, shared: Shared) -> None:
        super().__init__(scope, construct_id)
        settings = shared.settings
        self.vend = SellerTokenFunction(
            self,
            "Vend",
            code=shared.code,
            handler=names.FUNCTION_HANDLERS["vend"],
            # A fixed name, so callers and the client library's default (`{prefix}-vend`) find it.
            function_name=names.function_name("vend", settings.prefix),
            description="Vends SP-API access tokens to AWS callers (direct invoke)",
            environment=shared.environment,
            # More memory buys a faster CPU: a cache hit is then a few milliseconds.
            memory_size=512,
            # Room for one LWA refresh with its retries; callers wait on it.
            timeout=Duration.seconds(30),
        )
        # Callers always invoke the alias, so that turning provisioned concurrency on or off never
        # changes the ARN they hold.
        self.alias = lambda_.Alias(
            self,
            "Alias",
            alias_name=ALIAS_NAME,
            version=self.vend.function.current_version,
            provisioned_concurrent_executions=settings.vend_provisioned_concurrency or None,
        )
        shared.grant_broker_access(self.vend.role, grant_actions=GRANT_ACTIONS, table_actions=TABLE_ACTIONS)
        output(self, "VendFunctionArn", self.alias.function_arn, "Invoke this ARN (alias) to get a token")

    def grant_vend(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets a caller (a role of this or another stack) invoke the vend alias, nothing more."""
        return self.alias.grant_invoke(grantee)
