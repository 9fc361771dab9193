#!/usr/bin/env python3
"""CDK entry point: `make synth` (or `cdk synth`). Offline: no AWS call, no Docker."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from infra.checks import enable_nag
from infra.stack import SellerTokenStack

STACK_NAME = "SellerToken"


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """The app with its one stack, environment-agnostic, checked by cdk-nag."""
    app = cdk.App(context=context, outdir=outdir)
    SellerTokenStack(app, STACK_NAME, description="sellertoken: token broker for Amazon's Selling Partner API")
    enable_nag(app)
    return app


if __name__ == "__main__":
    build_app().synth()
