"""Client-secret rotation in the stack: the notification queue Amazon may write to and nobody else, its own key,
its dead-letter queue, the function fed by it, its schedule, its permissions and its alarms."""

from __future__ import annotations

from sellertoken import names
from tests.infra.helpers import actions_on, as_list, iam_statements, statements

SP_API_ACCOUNT = "437568002678"


def _logical_id(synth, type_: str, part: str) -> str:
    (found,) = [k for k in synth.resources(type_) if part in k]
    return found


def _queue(synth, part: str) -> dict:
    return synth.resources("AWS::SQS::Queue")[_logical_id(synth, "AWS::SQS::Queue", part)]["Properties"]


def test_the_queue_and_its_dead_letters_are_encrypted_with_a_key_of_their_own_not_the_grants_key(default):
    key = _logical_id(default, "AWS::KMS::Key", "Rotation")
    for part in ("RotationNotifications", "RotationDeadLetters"):
        assert _queue(default, part)["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert "Storage" not in key


def test_a_notice_that_keeps_failing_moves_to_the_dead_letter_queue_after_the_documented_receives(default):
    queue = _queue(default, "RotationNotifications")
    dead_letters = _logical_id(default, "AWS::SQS::Queue", "RotationDeadLetters")

    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "maxReceiveCount": names.NOTIFICATION_MAX_RECEIVES,
    }
    rotation = next(
        r["Properties"]
        for r in default.resources("AWS::Lambda::Function").values()
        if r["Properties"]["Handler"] == names.FUNCTION_HANDLERS["rotation"]
    )
    assert queue["VisibilityTimeout"] >= 6 * rotation["Timeout"]  # Lambda's rule for an event source queue
    assert queue["MessageRetentionPeriod"] == 14 * 86400


def test_only_amazons_notification_account_may_send_and_plain_http_is_denied(default):
    queue = _logical_id(default, "AWS::SQS::Queue", "RotationNotifications")
    policy = default.one("AWS::SQS::QueuePolicy", "RotationNotifications")["Properties"]
    allowed = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    denied = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]

    (sender,) = allowed
    assert sender["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{SP_API_ACCOUNT}:root"]]}
    }
    assert sorted(as_list(sender["Action"])) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert sender["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert denied and all(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denied)


def test_amazons_account_may_use_the_queue_key_through_sqs_in_this_region_only(default):
    statements_ = default.one("AWS::KMS::Key", "Rotation")["Properties"]["KeyPolicy"]["Statement"]
    outside = [s for s in statements_ if SP_API_ACCOUNT in str(s["Principal"])]

    (amazon,) = outside
    assert sorted(as_list(amazon["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    via = amazon["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == {"Fn::Join": ["", ["sqs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


def test_no_other_key_or_queue_names_an_outside_account(default):
    for logical_id, type_, statement in statements(default.json):
        principal = str(statement.get("Principal", ""))
        if SP_API_ACCOUNT in principal:
            assert "Rotation" in logical_id and type_ in ("AWS::KMS::Key", "AWS::SQS::QueuePolicy"), logical_id


def test_the_function_gets_the_queues_messages_in_batches_reporting_each_failed_one(default):
    mapping = next(iter(default.resources("AWS::Lambda::EventSourceMapping").values()))["Properties"]
    queue = _logical_id(default, "AWS::SQS::Queue", "RotationNotifications")
    function = _logical_id(default, "AWS::Lambda::Function", "Rotation")

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["FunctionName"] == {"Ref": function}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_the_check_runs_every_hour_and_the_safety_net_age_comes_from_the_context(default, full):
    function = _logical_id(default, "AWS::Lambda::Function", "Rotation")
    rules = [
        r["Properties"]
        for r in default.resources("AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression") == "rate(1 hour)"
    ]
    (rule,) = rules
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    for synth, days in ((default, "150"), (full, "120")):
        rotation = synth.resources("AWS::Lambda::Function")[_logical_id(synth, "AWS::Lambda::Function", "Rotation")]
        variables = rotation["Properties"]["Environment"]["Variables"]
        assert variables[names.ENV_ROTATE_AFTER_DAYS] == days
        assert variables[names.ENV_NOTIFICATION_QUEUE_URL] == {
            "Ref": _logical_id(synth, "AWS::SQS::Queue", "Notifications")
        }


def test_the_rotation_role_reads_and_writes_the_app_secret_reads_the_queue_and_nothing_of_the_grants(default):
    policy = iam_statements(default.json, "Rotation")
    app_secret = _logical_id(default, "AWS::SecretsManager::Secret", "AppSecret")
    queue = _logical_id(default, "AWS::SQS::Queue", "RotationNotifications")
    queue_key = _logical_id(default, "AWS::KMS::Key", "Rotation")

    def on(resource) -> set[str]:
        return {a for s in policy if resource in as_list(s["Resource"]) for a in as_list(s["Action"])}

    assert on({"Ref": app_secret}) == {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}
    assert on({"Fn::GetAtt": [queue, "Arn"]}) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert on({"Fn::GetAtt": [queue_key, "Arn"]}) == {"kms:Decrypt"}
    assert actions_on(policy, f":secret:{names.grants_prefix()}*") == set()
    assert "lambda:InvokeFunction" not in {a for s in policy for a in as_list(s["Action"])}


def test_only_the_rotation_function_may_write_the_app_secret(default):
    app_secret = _logical_id(default, "AWS::SecretsManager::Secret", "AppSecret")
    writers = {
        logical_id
        for logical_id, _, s in statements(default.json)
        if "secretsmanager:PutSecretValue" in as_list(s["Action"]) and {"Ref": app_secret} in as_list(s["Resource"])
    }
    assert len(writers) == 1 and "Rotation" in next(iter(writers))


def test_dead_letters_refused_rotations_and_a_near_expiry_alarm(default):
    alarms = {k: r["Properties"] for k, r in default.resources("AWS::CloudWatch::Alarm").items()}
    dead_letters = _logical_id(default, "AWS::SQS::Queue", "RotationDeadLetters")

    (dead,) = [a for k, a in alarms.items() if "NoticesDeadLettered" in k]
    assert (dead["MetricName"], dead["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 1)
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}]
    (failed,) = [a for k, a in alarms.items() if "RotationFailed" in k]
    assert (failed["MetricName"], failed["Threshold"]) == (names.METRIC_ROTATION_FAILED, 1)
    (expiring,) = [a for k, a in alarms.items() if "AppSecretExpiring" in k]
    assert (expiring["MetricName"], expiring["Statistic"]) == (names.METRIC_APP_SECRET_DAYS_LEFT, "Minimum")
    assert (expiring["ComparisonOperator"], expiring["Threshold"]) == ("LessThanThreshold", 21)


def test_the_queue_to_register_in_the_portal_is_a_stack_output(default):
    queue = _logical_id(default, "AWS::SQS::Queue", "RotationNotifications")

    assert default.json["Outputs"]["NotificationQueueArn"]["Value"] == {"Fn::GetAtt": [queue, "Arn"]}
