"""One Lambda function the way every sellertoken function is deployed: own role, log group, tracing."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.asset import LAMBDA_PYTHON
from infra.checks import acknowledge
from sellertoken import names

# infra/asset.py's LAMBDA_PYTHON, the one place the version is set: the asset's wheels and bytecode are
# built for it. CDK's own constant, so that a version CDK does not know fails here.
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + LAMBDA_PYTHON.replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": names.SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": names.METRICS_NAMESPACE,
    # A vend response holds an access token: never copy return values into X-Ray traces.
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
}


class SellerTokenFunction(Construct):
    """A function with its own least-privilege role (no managed policies) and explicit log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        timeout: Duration,
        memory_size: int = 256,
        function_name: str | None = None,
        reserved_concurrency: int | None = None,
        recursive_loop: lambda_.RecursiveLoop | None = None,
        unscoped_actions: str = "",
    ) -> None:
        """`unscoped_actions` names the function's own actions that need Resource "*", and why."""
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.function = lambda_.Function(
            self,
            "Function",
            code=code,
            handler=handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            description=description,
            environment={**POWERTOOLS_ENVIRONMENT, **environment},
            timeout=timeout,
            memory_size=memory_size,
            function_name=function_name,
            reserved_concurrent_executions=reserved_concurrency,
            recursive_loop=recursive_loop,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )
        self.log_group.grant_write(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Resource '*' only for actions without resource-level permissions: xray:PutTraceSegments "
            f"and xray:PutTelemetryRecords (active tracing). {unscoped_actions}".strip(),
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            f"Python {LAMBDA_PYTHON} is the newest runtime the code is tested on and the asset's wheels and "
            "bytecode are built for. See LAMBDA_PYTHON in infra/asset.py.",
        )

    def add_to_policy(self, *statements: iam.PolicyStatement) -> None:
        for statement in statements:
            self.role.add_to_principal_policy(statement)
