"""Synthesizes the app once per session (it takes seconds) for every infra test to read."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

import app as entrypoint
from tests.iam.plugin import remember_template
from tests.infra.helpers import FULL_CONTEXT, RESTORE_CONTEXT


@dataclass(frozen=True)
class Synth:
    outdir: Path
    stack: cdk.Stack
    template: Template

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    @property
    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(type_)

    def one(self, type_: str, name_part: str) -> dict[str, Any]:
        matches = [r for logical_id, r in self.resources(type_).items() if name_part in logical_id]
        assert len(matches) == 1, f"{len(matches)} {type_} match {name_part!r}"
        return matches[0]


def _synth(outdir: Path, context: dict[str, str], caller: bool = False) -> Synth:
    app = entrypoint.build_app(context=context, outdir=str(outdir))
    stack = app.node.find_child(entrypoint.STACK_NAME)
    if caller:
        # What docs/deploy.md shows: a role in another stack allowed to invoke the vend function.
        other = cdk.Stack(app, "Caller")
        role = iam.Role(other, "CallerRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        stack.vending.grant_vend(role)
    # Template.from_stack synthesizes the whole app: an unacknowledged cdk-nag finding raises here.
    template = Template.from_stack(stack)
    return Synth(outdir=outdir, stack=stack, template=template)


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth(tmp_path_factory.mktemp("full"), FULL_CONTEXT, caller=True)


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    synth = _synth(tmp_path_factory.mktemp("default"), {})
    remember_template("default", synth.json)  # the IAM check at the session's end reads it (tests/iam)
    return synth


@pytest.fixture(scope="session")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth(tmp_path_factory.mktemp("restored"), RESTORE_CONTEXT)


@pytest.fixture(scope="session", params=["default", "full", "restored"])
def each(request: pytest.FixtureRequest) -> Synth:
    """Every synth, for properties that hold whatever the context."""
    return request.getfixturevalue(request.param)
