"""cdk-nag on the whole app: an unacknowledged AwsSolutions finding fails the synth.

Acknowledgements go through `acknowledge` so that each one names its rule fully and has a reason.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def enable_nag(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """`finding` is the rule id with its finding, e.g. "AwsSolutions-IAM5[Resource::*]"."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{finding}", reason=reason))
