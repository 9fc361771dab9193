"""The IAM check as part of every pytest run (registered in tests/conftest.py).

- At start: hook botocore (devstack/awscalls.py) for the in-process integration tests, and name a
  directory in the environment where the local stack that the end-to-end tests start writes its calls.
- At the end: every recorded call must be allowed by its function's synthesized policy (the template of
  tests/infra's `default` synth, or a fresh one). When the run covered the whole integration and
  end-to-end suites, every granted permission must also have been used. A failure fails the run
  (exit status 1) and the terminal summary names the function, action and resource.

It runs at the session's end, not as a test, because pytest runs tests/e2e, tests/infra,
tests/integration and tests/unit in that order: only then are all calls in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack.awscalls import ENV_RECORD_DIR, RECORDER
from tests.iam.check import Report, check

ROOT = Path(__file__).resolve().parents[2]
RECORDING_SUITES = (ROOT / "tests" / "integration", ROOT / "tests" / "e2e")
_templates: dict[str, Mapping[str, Any]] = {}


def remember_template(name: str, template: Mapping[str, Any]) -> None:
    """tests/infra hands over its synth, so that the check needs no second one (a synth takes seconds)."""
    _templates[name] = template


class IamCheck:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.directory = tempfile.mkdtemp(prefix="sellertoken-aws-calls-")
        self.collected: set[str] = set()
        self.finished: set[str] = set()
        self.deselected = False
        self.report: Report | None = None
        self.coverage = False

    # -- hooks ------------------------------------------------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = {item.nodeid for item in session.items if _in_recording_suites(item.path)}

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if any(_in_recording_suites(item.path) for item in items):
            self.deselected = True

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple) -> None:
        self.finished.add(nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        records = list(RECORDER.calls) + list(self._stack_records())
        if not records:
            return
        self.coverage = self._covered_everything()
        self.report = check(records, self._template(), coverage=self.coverage)
        if self.report.failed:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        terminalreporter.section("IAM check (tests/iam)", red=self.report.failed, green=not self.report.failed)
        for line in self.report.lines():
            terminalreporter.write_line(line)
        if not self.coverage:
            terminalreporter.write_line(
                "granted-but-unused not checked: this run did not run every test of tests/integration and tests/e2e"
            )

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- parts ------------------------------------------------------------------------------------

    def _stack_records(self):
        for path in sorted(Path(self.directory).glob("*.jsonl")):
            for line in path.read_text().splitlines():
                if line.strip():
                    yield json.loads(line)

    def _covered_everything(self) -> bool:
        """The whole of both recording suites was asked for, collected, kept and run."""
        invoked = Path(self.config.invocation_params.dir)
        asked = [invoked / arg for arg in self.config.args]
        wholly = all(
            any("::" not in str(a) and a.is_dir() and suite.is_relative_to(a.resolve()) for a in asked)
            for suite in RECORDING_SUITES
        )
        suites_seen = all(any(n.startswith(_relative(s)) for n in self.collected) for s in RECORDING_SUITES)
        return wholly and suites_seen and not self.deselected and self.collected <= self.finished

    def _template(self) -> Mapping[str, Any]:
        if "default" not in _templates:
            _templates["default"] = _synthesize_default()
        return _templates["default"]


def _synthesize_default() -> Mapping[str, Any]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk.assertions import Template

    import app as entrypoint

    app = entrypoint.build_app(context={}, outdir=tempfile.mkdtemp(prefix="sellertoken-synth-"))
    return Template.from_stack(app.node.find_child(entrypoint.STACK_NAME)).to_json()


def _in_recording_suites(path: Path) -> bool:
    return any(path.is_relative_to(suite) for suite in RECORDING_SUITES)


def _relative(suite: Path) -> str:
    return str(suite.relative_to(ROOT)) + "/"


def pytest_configure(config: pytest.Config) -> None:
    plugin = IamCheck(config)
    RECORDER.install()
    os.environ[ENV_RECORD_DIR] = plugin.directory  # the local stack the e2e tests start records here
    config.pluginmanager.register(plugin, "sellertoken-iam-check")
