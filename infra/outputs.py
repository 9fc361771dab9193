"""Stack outputs with stable names, whatever construct declares them (docs/deploy.md lists them)."""

from __future__ import annotations

from aws_cdk import CfnOutput
from constructs import Construct


def output(scope: Construct, name: str, value: str, description: str) -> CfnOutput:
    result = CfnOutput(scope, name, value=value, description=description)
    result.override_logical_id(name)
    return result
