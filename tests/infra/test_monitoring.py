"""Alarms on function health, rejected app credentials and missing sweeps; the dashboard's metrics."""

from __future__ import annotations

import json

from sellertoken import names


def _alarms(synth) -> dict[str, dict]:
    return {logical_id: r["Properties"] for logical_id, r in synth.resources("AWS::CloudWatch::Alarm").items()}


def test_every_function_has_an_error_and_a_throttle_alarm(default):
    lambda_alarms = [a for a in _alarms(default).values() if a.get("Namespace") == "AWS/Lambda"]
    assert sorted(a["MetricName"] for a in lambda_alarms) == ["Errors"] * 5 + ["Throttles"] * 5
    functions = {a["Dimensions"][0]["Value"]["Ref"] for a in lambda_alarms}
    assert functions == set(default.resources("AWS::Lambda::Function"))


def test_rejected_app_credentials_alarm_on_the_first_occurrence(default):
    default.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": names.METRICS_NAMESPACE,
            "MetricName": "AppCredentialsRejected",
            "Dimensions": [{"Name": "service", "Value": names.SERVICE_NAME}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_a_revocation_that_could_not_reach_the_feed_alarms_on_the_first_occurrence(default):
    default.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": names.METRICS_NAMESPACE,
            "MetricName": names.METRIC_REVOCATION_NOT_RECORDED,
            "Dimensions": [{"Name": "service", "Value": names.SERVICE_NAME}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_a_broker_fault_alarms_on_the_first_occurrence(default):
    default.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": names.METRICS_NAMESPACE,
            "MetricName": names.METRIC_BROKER_FAULT,
            "Dimensions": [{"Name": "service", "Value": names.SERVICE_NAME}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_a_sweep_missing_for_two_periods_alarms_even_without_data(full):
    full.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": names.METRICS_NAMESPACE,
            "MetricName": "SweepCompleted",
            "Period": 4 * 3600,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
    )


def test_alarms_notify_the_topic_only_when_there_is_one(full, default):
    (topic_id,) = full.resources("AWS::SNS::Topic")
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in _alarms(full).values())
    assert all("AlarmActions" not in a for a in _alarms(default).values())


def test_dashboard_shows_vend_cache_and_sweep_metrics(default):
    (dashboard,) = default.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("CacheHitMemory", "CacheHitShared", "LwaRefresh", "SharedCacheUnavailable",
                   "RevocationFeedUnavailable", "GrantsChecked", "GrantsRevoked", "GrantsFailing",
                   "Invocations", "Duration", "ConsentRefused", "IdentityUnverified",
                   "LwaThrottled", "LwaBudgetExhausted"):  # fmt: skip
        assert metric in body, metric
