"""EventBridge: the sweep schedule, and the optional alarm topic fed by the events people act on."""

from __future__ import annotations

from sellertoken import names
from tests.infra.helpers import function


def test_sweep_runs_every_six_hours_by_default_and_as_configured(default, full):
    default.template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(6 hours)"})
    full.template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(4 hours)"})


def test_every_function_gets_the_sweep_period_its_proof_window_and_the_fleets_lwa_rate(default, full):
    for synth, hours in ((default, 6), (full, 4)):
        for handler in names.FUNCTION_HANDLERS.values():
            variables = function(synth.json, handler)["Environment"]["Variables"]
            assert variables[names.ENV_SWEEP_PERIOD_SECONDS] == str(hours * 3600)
            assert variables[names.ENV_SWEEP_PROOF_SECONDS] == str(hours * 3600)  # by default, one period
            assert variables[names.ENV_LWA_RATE_PER_SECOND] == "50"


def test_without_an_alarm_email_there_is_no_topic_and_no_notification_rule(default):
    default.template.resource_count_is("AWS::SNS::Topic", 0)
    rules = default.resources("AWS::Events::Rule").values()
    assert all("EventPattern" not in r["Properties"] for r in rules)


def test_revocations_rejected_or_expiring_credentials_and_refused_consents_reach_the_topic_from_the_bus(full):
    (topic_id,) = full.resources("AWS::SNS::Topic")
    patterns = {}
    for rule in full.resources("AWS::Events::Rule").values():
        props = rule["Properties"]
        if "EventPattern" in props:
            assert props["EventBusName"] == "sellers"
            assert props["Targets"][0]["Arn"] == {"Ref": topic_id}
            patterns[props["EventPattern"]["detail-type"][0]] = props["EventPattern"]["source"]
    assert patterns == {
        names.EVENT_GRANT_REVOKED: [names.EVENT_SOURCE],
        names.EVENT_APP_CREDENTIALS_REJECTED: [names.EVENT_SOURCE],
        names.EVENT_APP_CREDENTIALS_EXPIRING: [names.EVENT_SOURCE],
        names.EVENT_CONSENT_REFUSED: [names.EVENT_SOURCE],
    }


def test_topic_is_encrypted_with_the_key_denies_plain_http_and_mails_the_operator(full):
    (key_id,) = [k for k in full.resources("AWS::KMS::Key") if k.startswith("Storage")]
    topic = full.one("AWS::SNS::Topic", "AlarmTopic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    full.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    statements = full.one("AWS::SNS::TopicPolicy", "AlarmTopic")["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    publishers = {s["Principal"]["Service"] for s in statements if s["Effect"] == "Allow"}
    assert publishers == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert all("Condition" in s for s in statements)


def test_the_services_that_publish_to_the_topic_may_use_its_key(full):
    key_statements = full.one("AWS::KMS::Key", "StorageKey")["Properties"]["KeyPolicy"]["Statement"]
    services = {s["Principal"]["Service"]: sorted(s["Action"]) for s in key_statements if "Service" in s["Principal"]}
    assert services == {
        "events.amazonaws.com": ["kms:Decrypt", "kms:GenerateDataKey"],
        "cloudwatch.amazonaws.com": ["kms:Decrypt", "kms:GenerateDataKey"],
    }
