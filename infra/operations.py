"""The ops function an operator invokes (`sellertoken grants restore|revoke`): one grant at a time."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra.function import SellerTokenFunction
from infra.outputs import output
from infra.shared import Shared
from sellertoken import names

# restore_previous reads the grant and its versions, moves AWSCURRENT back and retags it; revoke reads
# the grant and tags it revoked. Neither creates a grant or writes a value.
GRANT_ACTIONS = ("DescribeSecret", "GetSecretValue", "UpdateSecretVersionStage", "TagResource", "UntagResource")
# lifecycle.forget_tokens records the grant in the revocation feed (UpdateItem) and drops its shared cache entry.
TABLE_ACTIONS = ("UpdateItem", "DeleteItem")


class Operations(Construct):
    def __init__(self, scope: Construct, construct_id: str, shared: Shared) -> None:
        super().__init__(scope, construct_id)
        settings = shared.settings
        self.ops = SellerTokenFunction(
            self,
            "Ops",
            code=shared.code,
            handler=names.FUNCTION_HANDLERS["ops"],
            # A fixed name, so that the CLI finds it from the prefix alone.
            function_name=names.function_name("ops", settings.prefix),
            description="Operator actions on one grant: restore its previous token, flag it revoked",
            environment=shared.environment,
            timeout=Duration.seconds(30),
        )
        shared.grant_broker_access(
            self.ops.role,
            grant_actions=GRANT_ACTIONS,
            table_actions=TABLE_ACTIONS,
            writes_secrets=False,  # moves stages, writes no value
        )
        output(self, "OpsFunctionName", self.ops.function.function_name, "Operator function (sellertoken grants)")
