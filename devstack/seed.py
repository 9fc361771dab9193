"""Create, in the embedded AWS (moto), what the CDK stack creates in a real account, under the same names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from devstack import motofix
from sellertoken import names

EVENTS_QUEUE = "sellertoken-local-events"
# The queue Amazon's client-secret notifications arrive on, and its dead-letter queue, as infra/rotation.py
# makes them (same redrive count). The visibility timeout is short so that a failed message comes back in
# a second instead of the deployed 3 minutes: the tests see it land in the dead-letter queue quickly.
NOTIFICATION_QUEUE = "sellertoken-notifications"
NOTIFICATION_DLQ = "sellertoken-notifications-dlq"
NOTIFICATION_VISIBILITY_SECONDS = 1


@dataclass(frozen=True)
class Seeded:
    kms_key_arn: str
    table_name: str
    event_bus_name: str
    events_queue_url: str
    notification_queue_url: str = ""
    notification_dlq_url: str = ""


def clients(endpoint_url: str) -> dict:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=names.LOCAL_AWS_REGION
    )
    return {
        s: session.client(s, endpoint_url=endpoint_url) for s in ("kms", "secretsmanager", "dynamodb", "events", "sqs")
    }


def seed(
    endpoint_url: str, *, app_credentials: dict[str, str], state_key: str, prefix: str = names.DEFAULT_PREFIX
) -> Seeded:
    motofix.apply()  # the in-process mock and the local stack's server both run in this process
    aws = clients(endpoint_url)
    key_arn = aws["kms"].create_key(Description="sellertoken local key")["KeyMetadata"]["Arn"]
    aws["kms"].create_alias(AliasName=names.LOCAL_KMS_ALIAS, TargetKeyId=key_arn)
    sm = aws["secretsmanager"]
    sm.create_secret(Name=names.app_secret_name(prefix), SecretString=json.dumps(app_credentials), KmsKeyId=key_arn)
    sm.create_secret(Name=names.state_key_secret_name(prefix), SecretString=state_key, KmsKeyId=key_arn)
    ddb = aws["dynamodb"]
    ddb.create_table(
        TableName=names.LOCAL_TABLE_NAME,
        KeySchema=[{"AttributeName": names.TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": names.TABLE_PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    )
    ddb.update_time_to_live(
        TableName=names.LOCAL_TABLE_NAME,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": names.TABLE_TTL_ATTRIBUTE},
    )
    events = aws["events"]
    events.create_event_bus(Name=names.LOCAL_EVENT_BUS_NAME)
    queue_url = aws["sqs"].create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="sellertoken-local-recorder",
        EventBusName=names.LOCAL_EVENT_BUS_NAME,
        EventPattern=json.dumps({"source": [names.EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule="sellertoken-local-recorder",
        EventBusName=names.LOCAL_EVENT_BUS_NAME,
        Targets=[{"Id": "recorder", "Arn": queue_arn}],
    )
    notifications, dead_letters = _notification_queues(aws["sqs"])
    return Seeded(key_arn, names.LOCAL_TABLE_NAME, names.LOCAL_EVENT_BUS_NAME, queue_url, notifications, dead_letters)


def _notification_queues(sqs) -> tuple[str, str]:
    dlq_url = sqs.create_queue(QueueName=NOTIFICATION_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": names.NOTIFICATION_MAX_RECEIVES}
    attributes = {"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": str(NOTIFICATION_VISIBILITY_SECONDS)}
    return sqs.create_queue(QueueName=NOTIFICATION_QUEUE, Attributes=attributes)["QueueUrl"], dlq_url


def function_environment(
    seeded: Seeded,
    *,
    amazon_url: str,
    redirect_uri: str,
    aws_url: str | None = None,
    success_url: str | None = None,
    vendor_central_url: str | None = None,
) -> dict[str, str]:
    """The functions' environment on the local stack, as infra/ sets it in AWS, with Amazon at the simulator
    (aws_url None: moto's in-process mock)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": names.LOCAL_AWS_REGION,
        "AWS_REGION": names.LOCAL_AWS_REGION,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        names.ENV_PREFIX: names.DEFAULT_PREFIX,
        names.ENV_TABLE_NAME: seeded.table_name,
        names.ENV_KMS_KEY_ID: seeded.kms_key_arn,
        names.ENV_EVENT_BUS_NAME: seeded.event_bus_name,
        names.ENV_REDIRECT_URI: redirect_uri,
        names.ENV_APP_IS_DRAFT: "true",
        names.ENV_LWA_ENDPOINT: f"{amazon_url}/auth/o2/token",
        names.ENV_CONSENT_BASE_URL: amazon_url,
        names.ENV_SPAPI_BASE_URL: amazon_url,
    }
    if seeded.notification_queue_url:
        env[names.ENV_NOTIFICATION_QUEUE_URL] = seeded.notification_queue_url
    if vendor_central_url:
        env[names.ENV_VENDOR_CONSENT_BASE_URL] = vendor_central_url
    if aws_url:
        env["AWS_ENDPOINT_URL"] = aws_url
    if success_url:
        env[names.ENV_SUCCESS_URL] = success_url
    return env
