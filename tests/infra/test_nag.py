"""cdk-nag (AwsSolutions) runs on every synth, fails it on any unacknowledged finding, and every
acknowledgement names one finding with its reason."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from infra.checks import enable_nag

# Each acknowledged finding, and why it is expected (the reasons themselves are in infra/).
EXPECTED_ACKNOWLEDGEMENTS = {
    "AwsSolutions-SMG4",  # app credentials rotate in Seller Central; the state key must not rotate
    "AwsSolutions-APIG4",  # consent routes are public by nature, protected by signed state
    "AwsSolutions-IAM5[Resource::*]",  # X-Ray and ListSecrets have no resource-level permissions
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>"
    ":secret:sellertoken/grants/*]",  # one secret per seller: only a name prefix scopes them
    "AwsSolutions-L1",  # python3.13 on purpose (see infra/function.py)
}


def _report(synth) -> dict:
    (report,) = [r for r in synth.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return report


def test_synth_runs_aws_solutions_checks_and_leaves_no_finding(each):
    report = _report(each)
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_only_the_expected_findings_are_acknowledged_each_with_a_reason(each):
    suppressed = _report(each)["suppressedViolations"]
    acknowledged = {s["acknowledgedId"].removeprefix("AwsSolutions::") for s in suppressed}
    # A redeployment over retained secrets creates none, so it has no SMG4 finding to acknowledge.
    assert acknowledged == EXPECTED_ACKNOWLEDGEMENTS or acknowledged == EXPECTED_ACKNOWLEDGEMENTS - {
        "AwsSolutions-SMG4"
    }
    for finding in suppressed:
        assert len(finding["reason"]) >= 60, finding["acknowledgedId"]


def test_an_unacknowledged_finding_fails_the_synth():
    app = cdk.App()
    stack = cdk.Stack(app, "Careless")
    sns.Topic(stack, "PlainTopic")  # publishers not forced to TLS: AwsSolutions-SNS3
    enable_nag(app)
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-SNS3"):
        Template.from_stack(stack)
