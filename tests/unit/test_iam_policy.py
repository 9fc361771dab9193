"""The offline IAM evaluator (tests/iam/policy.py) decides as IAM does for the statements CDK emits."""

from __future__ import annotations

import pytest

from tests.iam.policy import Statement, Template, Unsupported, evaluate, wildcard_match

GRANTS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/grants/*"
GRANT = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/grants/na/A1B2C3-AbC123"
APP_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/app-??????"
EMPTY = Template({"Resources": {}})


def allow(actions, resources, **extra) -> Statement:
    return Statement.parse({"Effect": "Allow", "Action": actions, "Resource": resources, **extra}, EMPTY)


def deny(actions, resources, **extra) -> Statement:
    return Statement.parse({"Effect": "Deny", "Action": actions, "Resource": resources, **extra}, EMPTY)


def test_an_allow_naming_the_action_and_resource_allows_it():
    assert evaluate([allow("secretsmanager:GetSecretValue", GRANTS)], "secretsmanager:GetSecretValue", GRANT).allowed


def test_no_matching_statement_is_an_implicit_deny():
    assert not evaluate(
        [allow("secretsmanager:GetSecretValue", GRANTS)], "secretsmanager:PutSecretValue", GRANT
    ).allowed


def test_an_explicit_deny_wins_over_an_allow():
    statements = [allow("secretsmanager:*", GRANTS), deny("secretsmanager:PutSecretValue", GRANT)]

    decision = evaluate(statements, "secretsmanager:PutSecretValue", GRANT)

    assert not decision.allowed and decision.denied_by == (statements[1],)


def test_action_wildcards_match_and_action_names_ignore_case():
    statements = [allow("secretsmanager:Get*", GRANTS)]

    assert evaluate(statements, "secretsmanager:GetSecretValue", GRANT).allowed
    assert evaluate(statements, "SecretsManager:getsecretvalue", GRANT).allowed
    assert not evaluate(statements, "secretsmanager:PutSecretValue", GRANT).allowed


def test_a_resource_wildcard_spans_slashes_but_resources_are_case_sensitive():
    statements = [allow("secretsmanager:GetSecretValue", GRANTS)]

    assert evaluate(statements, "secretsmanager:GetSecretValue", GRANT).allowed
    assert not evaluate(statements, "secretsmanager:GetSecretValue", GRANT.replace("grants", "Grants")).allowed
    assert not evaluate(statements, "secretsmanager:GetSecretValue", GRANT.replace("grants/na/", "app-")).allowed


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/app-AbC123", True),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/app-AbC12", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/app-AbC1234", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:sellertoken/app/x-AbC123", False),
    ],
)
def test_a_question_mark_stands_for_exactly_one_character(value, matches):
    assert wildcard_match(APP_SECRET, value) is matches


def test_regular_expression_characters_in_a_pattern_are_literal():
    assert not wildcard_match("arn:aws:s3:::a.b+", "arn:aws:s3:::axbb")
    assert wildcard_match("arn:aws:s3:::a.b+", "arn:aws:s3:::a.b+")


def test_not_action_and_not_resource_allow_everything_else():
    everything_but = Statement.parse(
        {"Effect": "Allow", "NotAction": "secretsmanager:DeleteSecret", "NotResource": APP_SECRET}, EMPTY
    )

    assert evaluate([everything_but], "secretsmanager:GetSecretValue", GRANT).allowed
    assert not evaluate([everything_but], "secretsmanager:DeleteSecret", GRANT).allowed
    assert not evaluate(
        [everything_but], "secretsmanager:GetSecretValue", APP_SECRET.replace("??????", "AbC123")
    ).allowed


def test_a_condition_that_does_not_hold_leaves_the_allow_out_and_does_not_deny():
    conditional = allow(
        "kms:Decrypt", "*", Condition={"StringEquals": {"kms:ViaService": "secretsmanager.amazonaws.com"}}
    )
    plain = allow("kms:Decrypt", "*")

    assert evaluate([conditional], "kms:Decrypt", "k", {"kms:ViaService": "secretsmanager.amazonaws.com"}).allowed
    assert not evaluate([conditional], "kms:Decrypt", "k", {"kms:ViaService": "dynamodb.amazonaws.com"}).allowed
    assert evaluate([conditional, plain], "kms:Decrypt", "k", {"kms:ViaService": "dynamodb.amazonaws.com"}).allowed


def test_a_missing_condition_key_fails_a_plain_operator_and_passes_if_exists_and_negated_ones():
    def allowed(operator: str) -> bool:
        statement = allow("kms:Decrypt", "*", Condition={operator: {"aws:SourceAccount": "123456789012"}})
        return evaluate([statement], "kms:Decrypt", "k", {}).allowed

    assert not allowed("StringEquals")
    assert allowed("StringEqualsIfExists")
    assert allowed("StringNotEquals")


def test_like_operators_use_iam_wildcards_and_any_listed_value_may_match():
    statement = allow("events:PutEvents", "*", Condition={"ArnLike": {"aws:SourceArn": ["arn:aws:x:*:1:a", "arn:b:*"]}})

    assert evaluate([statement], "events:PutEvents", "r", {"aws:SourceArn": "arn:b:c"}).allowed
    assert not evaluate([statement], "events:PutEvents", "r", {"aws:SourceArn": "arn:c:b"}).allowed


@pytest.mark.parametrize("operator", ["NumericLessThan", "ForAnyValue:StringEquals", "DateGreaterThan"])
def test_a_condition_operator_the_evaluator_does_not_know_is_an_error_not_a_pass(operator):
    statement = allow("kms:Decrypt", "*", Condition={operator: {"aws:SourceAccount": "1"}})

    with pytest.raises(Unsupported):
        evaluate([statement], "kms:Decrypt", "k", {"aws:SourceAccount": "1"})


def test_a_policy_variable_is_an_error_not_a_pass():
    with pytest.raises(Unsupported):
        evaluate([allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*")], "s3:GetObject", "arn:aws:s3:::b/x/y")


def test_a_statement_with_a_principal_is_not_an_identity_policy_statement():
    with pytest.raises(Unsupported):
        Statement.parse({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}, EMPTY)


TEMPLATE = Template(
    {
        "Resources": {
            "Table1": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Named": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders"}},
            "Key1": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Secret1": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "sellertoken/app"}},
            "Fn1": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "sellertoken-vend"}},
        }
    }
)


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:", {"Ref": "AWS::Region"}, ":x"]]},
            "arn:aws:events:us-east-1:x",
        ),
        ({"Fn::GetAtt": ["Table1", "Arn"]}, "arn:aws:dynamodb:us-east-1:123456789012:table/Table1"),
        ({"Ref": "Named"}, "orders"),
        ({"Fn::GetAtt": "Key1.Arn"}, "arn:aws:kms:us-east-1:123456789012:key/Key1"),
        ({"Ref": "Secret1"}, APP_SECRET),
        ({"Fn::GetAtt": ["Fn1", "Arn"]}, "arn:aws:lambda:us-east-1:123456789012:function:sellertoken-vend"),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"},
            "arn:aws:sqs:us-east-1:123456789012:q",
        ),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, "b"),
    ],
)
def test_template_values_resolve_to_the_arns_iam_sees(value, resolved):
    assert TEMPLATE.resolve(value) == resolved


@pytest.mark.parametrize(
    "value",
    [{"Ref": "Nope"}, {"Fn::GetAtt": ["Table1", "StreamArn"]}, {"Fn::ImportValue": "x"}, {"Fn::If": ["c", 1, 2]}],
)
def test_a_value_that_cannot_be_resolved_is_an_error(value):
    with pytest.raises(Unsupported):
        TEMPLATE.resolve(value)
