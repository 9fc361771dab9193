"""cfn-lint accepts every synthesized template (only W3005, a redundant DependsOn CDK emits, is ignored)."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint

CONFIG = ManualArgs(ignore_checks=["W3005"], regions=["us-east-1", "eu-west-1", "us-west-2"])


def test_templates_pass_cfn_lint(each):
    files = sorted(each.outdir.glob("*.template.json"))
    assert files
    for path in files:
        matches = lint(path.read_text(), config=CONFIG)
        assert not matches, "\n".join(f"{path.name}: {m}" for m in matches)


def test_the_lint_configuration_still_reports_errors():
    broken = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}}'
    assert lint(broken, config=CONFIG)
