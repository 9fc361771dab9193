"""Create, in the embedded AWS (moto), what the CDK stack creates in a real account, under the same names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from sellertoken import names

EVENTS_QUEUE = "sellertoken-local-events"


@dataclass(frozen=True)
class Seeded:
    kms_key_arn: str
    table_name: str
    event_bus_name: str
    events_queue_url: str


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
    return Seeded(key_arn, names.LOCAL_TABLE_NAME, names.LOCAL_EVENT_BUS_NAME, queue_url)
