"""The ops function an operator invokes (`sellertoken grants restore|revoke`): one grant at a time."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.events import Events
from infra.function import SellerTokenFunction
from infra.outputs import output
from infra.settings import Settings
from infra.storage import Storage
from sellertoken import names

# restore_previous reads the grant and its versions, moves AWSCURRENT back and retags it; revoke reads
# the grant and tags it revoked. Neither creates a grant or writes a value.
GRANT_ACTIONS = ("DescribeSecret", "GetSecretValue", "UpdateSecretVersionStage", "TagResource", "UntagResource")
# lifecycle.forget_tokens records the grant in the revocation feed (UpdateItem) and drops its shared cache entry.
TABLE_ACTIONS = ("UpdateItem", "DeleteItem")


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        environment: Mapping[str, str],
        storage: Storage,
        events: Events,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ops = SellerTokenFunction(
            self,
            "Ops",
            code=code,
            handler=names.FUNCTION_HANDLERS["ops"],
            # A fixed name, so that the CLI finds it from the prefix alone.
            function_name=names.function_name("ops", settings.prefix),
            description="Operator actions on one grant: restore its previous token, flag it revoked",
            environment=environment,
            timeout=Duration.seconds(30),
        )
        storage.grant_grants(self.ops.role, *GRANT_ACTIONS)
        storage.grant_read_secret(self.ops.role, storage.app_secret_arn)
        storage.grant_table(self.ops.role, *TABLE_ACTIONS)
        storage.grant_key(self.ops.role, writes_secrets=False)  # moves stages, writes no value
        events.grant_put_events(self.ops.role)
        output(self, "OpsFunctionName", self.ops.function.function_name, "Operator function (sellertoken grants)")
