"""The IAM check (tests/iam) against the synthesized stack: it passes calls the roles allow, and names the
function, action and resource of a call they do not allow, of the KMS use a call implies, and of a grant
no call used."""

from __future__ import annotations

import copy

from sellertoken import names
from tests.iam.check import NOT_EXERCISABLE, check, functions

PREFIX, TABLE, KEY = (f"${{{v}}}" for v in (names.ENV_PREFIX, names.ENV_TABLE_NAME, names.ENV_KMS_KEY_ID))


def call(key: str, service: str, operation: str, **resource_names) -> dict:
    return {"function": names.function_name(key), "service": service, "operation": operation, "names": resource_names}


def read_grant(key: str = "vend") -> dict:
    return call(key, "secretsmanager", "GetSecretValue", SecretId=f"{PREFIX}/grants/na/A1B2C3D4E5F6G7")


def key_arn(template: dict) -> str:
    (key_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key" and "Storage" in k]
    return f"arn:aws:kms:us-east-1:123456789012:key/{key_id}"


def test_a_call_the_role_allows_passes_with_the_kms_use_it_implies(default):
    report = check([read_grant()], default.json, coverage=False)

    assert not report.failed, report.lines()
    assert (report.distinct, report.requests) == (1, 2)  # GetSecretValue, and kms:Decrypt on the stack's key


def test_a_call_outside_the_role_names_function_action_and_resource(default):
    report = check([call("oauth", "dynamodb", "DeleteItem", TableName=TABLE)], default.json, coverage=False)

    (denied,) = [d for d in report.denied if "dynamodb:DeleteItem" in d]
    assert denied.startswith("oauth may not dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:123456789012:table/")


def test_removing_the_key_grant_fails_the_kms_use_a_secret_read_implies(default):
    template = copy.deepcopy(default.json)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and "Vend" in str(resource["Properties"]["Roles"]):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if "kms:Decrypt" not in s["Action"]]

    report = check([read_grant()], template, coverage=False)

    assert report.denied == [
        f"vend may not kms:Decrypt on {key_arn(template)} (implied by "
        f"sellertoken-vend: secretsmanager:GetSecretValue(SecretId={PREFIX}/grants/na/A1B2C3D4E5F6G7))"
    ]


def test_a_key_policy_that_leaves_iam_out_fails_every_kms_use(default):
    template = copy.deepcopy(default.json)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
                statement["Action"] = [a for a in statement["Action"] if a != "kms:Decrypt"]

    report = check([read_grant()], template, coverage=False)

    assert report.denied == [f"the key policy of {key_arn(template)} does not let IAM grant kms:Decrypt"]


def test_a_table_other_than_the_configured_one_is_not_allowed(default):
    report = check([call("vend", "dynamodb", "GetItem", TableName="someone-elses")], default.json, coverage=False)

    assert any("vend may not dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table/someone-elses" in d
               for d in report.denied)  # fmt: skip


def test_writing_a_secret_value_implies_generate_data_key_and_decrypt_on_the_stack_key(default):
    written = call("oauth", "secretsmanager", "CreateSecret", Name=f"{PREFIX}/grants/na/A1B2C3D4E5F6G7", KmsKeyId=KEY)

    report = check([written], default.json, coverage=False)

    assert not report.failed, report.lines()
    assert report.requests == 3


def test_a_grant_created_with_another_key_cannot_be_checked(default):
    written = call("oauth", "secretsmanager", "CreateSecret", Name=f"{PREFIX}/grants/na/A1", KmsKeyId="alias/other")

    report = check([written], default.json, coverage=False)

    assert report.errors and "a key other than" in report.errors[0]


def test_with_coverage_every_grant_no_call_used_is_reported(default):
    report = check([read_grant()], default.json, coverage=True)

    assert any(u.startswith("vend is granted dynamodb:GetItem on ") for u in report.unused)
    assert not any("secretsmanager:GetSecretValue on arn:aws:secretsmanager" in u and u.startswith("vend")
                   and "grants/*" in u for u in report.unused)  # fmt: skip
    assert not any(action in u for u in report.unused for action in NOT_EXERCISABLE)


def test_a_function_missing_from_the_registry_is_an_error(default):
    report = check([call("reports", "dynamodb", "GetItem", TableName=TABLE)], default.json, coverage=False)

    assert report.failed and "names.FUNCTION_HANDLERS" in report.errors[0]


def test_an_operation_with_no_resource_rule_is_an_error_not_a_pass(default):
    report = check([call("vend", "sns", "Publish", TopicArn="t")], default.json, coverage=False)

    assert report.failed and "no rule for the resources of sns:Publish" in report.errors[0]


QUEUE = f"${{{names.ENV_NOTIFICATION_QUEUE_URL}}}"


def test_receiving_from_the_notification_queue_implies_decrypt_with_the_queue_key_not_the_stack_key(default):
    received = call("rotation", "sqs", "ReceiveMessage", QueueUrl=QUEUE)

    report = check([received], default.json, coverage=False)

    assert not report.failed, report.lines()
    assert report.requests == 2  # sqs:ReceiveMessage on the queue, kms:Decrypt on the queue's own key


def test_a_function_not_fed_by_the_queue_may_not_receive_from_it(default):
    received = call("vend", "sqs", "ReceiveMessage", QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q")

    report = check([received], default.json, coverage=False)

    assert any(
        d.startswith("vend may not sqs:ReceiveMessage on arn:aws:sqs:us-east-1:123456789012:q") for d in report.denied
    )


def test_every_action_excused_from_coverage_is_granted_to_every_function(default):
    for key, function in functions(default.json).items():
        granted = {a for s in function.statements for a in s.actions}
        assert set(NOT_EXERCISABLE) <= granted, key
