"""What the operator commands read and start: grants in Secrets Manager, grant health and sweep runs in the
broker's table, the sweep function, the ops function (restore, revoke), the rotation function (the app's
client secret), and (locally) the recorded events. (Named `admin`: `operator` is a standard-library module.)

`Deployment` is where those live: the local stack (from endpoints.json) or a deployed stack, whose
table and prefix are read from the sweep function's own configuration.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sellertoken_client import names
from sellertoken_client.broker import checked_selling_partner_id
from sellertoken_client.errors import BrokerError, from_function_error

REAUTHORIZE_AFTER = timedelta(days=names.REAUTHORIZE_AFTER_DAYS)


@dataclass
class Deployment:
    prefix: str
    table: str
    sweep_function: str
    session: Any  # boto3 Session
    ops_function: str = names.function_name("ops")
    rotation_function: str = names.function_name("rotation")
    aws_endpoint: str | None = None
    lambda_endpoint: str | None = None
    events_queue_url: str | None = None

    @classmethod
    def local(cls, endpoints: str | Path | Mapping[str, Any]) -> Deployment:
        if not isinstance(endpoints, Mapping):
            endpoints = json.loads(Path(endpoints).read_text())
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=endpoints["region"]
        )
        return cls(
            prefix=names.DEFAULT_PREFIX,
            table=endpoints["table"],
            sweep_function=endpoints["functions"]["sweep"],
            ops_function=endpoints["functions"].get("ops", names.function_name("ops")),
            rotation_function=endpoints["functions"].get("rotation", names.function_name("rotation")),
            session=session,
            aws_endpoint=endpoints["aws"],
            lambda_endpoint=endpoints["lambda"],
            events_queue_url=endpoints.get("events_queue_url"),
        )

    @classmethod
    def deployed(cls, sweep_function: str, region_name: str | None = None) -> Deployment:
        session = boto3.session.Session(region_name=region_name)
        config = session.client("lambda").get_function_configuration(FunctionName=sweep_function)
        env = config.get("Environment", {}).get("Variables", {})
        prefix = env.get(names.ENV_PREFIX, names.DEFAULT_PREFIX)
        return cls(
            prefix=prefix,
            table=env[names.ENV_TABLE_NAME],
            sweep_function=sweep_function,
            session=session,
            ops_function=names.function_name("ops", prefix),
            rotation_function=names.function_name("rotation", prefix),
        )

    def client(self, service: str) -> Any:
        endpoint = self.lambda_endpoint if service == "lambda" else self.aws_endpoint
        return self.session.client(service, endpoint_url=endpoint)


@dataclass(frozen=True)
class GrantRow:
    selling_partner_id: str
    region: str
    account_type: str
    status: str
    authorized_at: str
    reauthorize_by: str
    health: str
    revoked_at: str
    name: str


def grants(deployment: Deployment) -> Iterator[GrantRow]:
    """Every grant, from ListSecrets alone (status lives in tags: no secret value is read)."""
    prefix = names.grants_prefix(deployment.prefix)
    paginator = deployment.client("secretsmanager").get_paginator("list_secrets")
    for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
        for entry in page["SecretList"]:
            tags = {t["Key"]: t["Value"] for t in entry.get("Tags", [])}
            region, _, seller = entry["Name"][len(prefix) :].partition("/")
            if not names.is_selling_partner_id(seller):
                continue  # not a grant the broker wrote (the broker's sweep skips it too)
            authorized = tags.get(names.TAG_AUTHORIZED_AT, "")
            yield GrantRow(
                selling_partner_id=seller,
                region=region,
                account_type=tags.get(names.TAG_ACCOUNT_TYPE, "seller"),
                status=tags.get(names.TAG_STATUS, names.STATUS_ACTIVE),
                authorized_at=authorized,
                reauthorize_by=_plus_year(authorized),
                health=tags.get(names.TAG_HEALTH, "ok"),
                revoked_at=tags.get(names.TAG_REVOKED_AT, ""),
                name=entry["Name"],
            )


def latest_sweep(deployment: Deployment) -> dict[str, Any] | None:
    item = _item(deployment, names.SWEEP_LATEST_KEY)
    if item is None:
        return None
    return {"started_at": item["started_at"]["S"], "summary": json.loads(item.get("summary", {}).get("S", "{}"))}


def health(deployment: Deployment, region: str, seller: str) -> dict[str, str] | None:
    checked_selling_partner_id(seller)
    item = _item(deployment, names.health_key(region, seller))
    if item is None:
        return None
    return {k: next(iter(v.values())) for k, v in item.items() if k != names.TABLE_PARTITION_KEY}


def last_check(row: GrantRow, sweep: dict[str, Any] | None, record: dict[str, str] | None) -> str:
    """When the sweep last refreshed this grant: its failure record, else the latest completed run."""
    if record and record.get("last_attempt"):
        return record["last_attempt"]
    if sweep and row.authorized_at and row.authorized_at <= sweep["started_at"]:
        return sweep["started_at"]
    return "never"


def grant_detail(deployment: Deployment, region: str, seller: str) -> dict[str, Any]:
    """A grant without its refresh token: the value's other fields, tags, versions and health."""
    sm = deployment.client("secretsmanager")
    name = f"{names.grants_prefix(deployment.prefix)}{region}/{checked_selling_partner_id(seller)}"
    described = sm.describe_secret(SecretId=name)
    value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    value.pop("refresh_token", None)  # an operator view never shows it, not even in part
    return {
        "secret": name,
        "value": value,
        "tags": {t["Key"]: t["Value"] for t in described.get("Tags", [])},
        "versions": len(sm.list_secret_version_ids(SecretId=name)["Versions"]),
        "kms_key": described.get("KmsKeyId"),
        "health": health(deployment, region, seller),
    }


def run_operation(deployment: Deployment, operation: str, region: str, seller: str) -> dict[str, Any]:
    """One operation of the ops function (`restore_previous`, `revoke`); the broker validates and does it,
    and its errorType comes back as the client's exception."""
    payload = {"operation": operation, "selling_partner_id": checked_selling_partner_id(seller), "region": region}
    return _invoke(deployment, deployment.ops_function, payload)


def app_operation(deployment: Deployment, operation: str, **fields: str) -> dict[str, Any]:
    """One operation of the rotation function (`status`, `rotate`, `set_secret`). A client secret travels only
    in the invoke's payload (TLS to Lambda), never in a log line, an argument list or an answer."""
    return _invoke(deployment, deployment.rotation_function, {"operation": operation, **fields})


def _invoke(deployment: Deployment, function: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        response = deployment.client("lambda").invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
        body = response["Payload"].read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = f"{error.get('Message') or 'the invoke failed'} (invoking {function})"
        raise BrokerError(message, error_type=str(error.get("Code") or "ClientError")) from None
    except BotoCoreError as exc:
        raise BrokerError(f"{type(exc).__name__} (invoking {function})", error_type=type(exc).__name__) from None
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if response.get("FunctionError"):
        raise from_function_error(document)
    if not isinstance(document, dict):
        raise BrokerError(f"{function} answered something other than a JSON object", error_type="BadAnswer")
    return document


def start_sweep(deployment: Deployment, *, full: bool = False) -> str:
    """Start a sweep; `full` refreshes every grant, else a recent refresh counts as a grant's check."""
    run_id = f"cli-{uuid.uuid4().hex[:12]}"
    event = {"run_id": run_id, names.SWEEP_FULL: full}
    deployment.client("lambda").invoke(
        FunctionName=deployment.sweep_function, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    return run_id


def sweep_progress(deployment: Deployment, run_id: str) -> tuple[dict[str, int], dict[str, Any] | None]:
    """(counts so far, the summary once the run is done)."""
    item = _item(deployment, names.sweep_run_key(run_id))
    if item is None:
        return {}, None
    counts = json.loads(item.get("counts", {}).get("S", "{}"))
    summary = json.loads(item["summary"]["S"]) if item.get("done", {}).get("BOOL") and "summary" in item else None
    return counts, summary


def recorded_events(deployment: Deployment, wait_seconds: int = 0) -> list[dict[str, Any]]:
    """Events the local stack's recorder queue holds (each is shown once: reading removes it)."""
    if not deployment.events_queue_url:
        raise ValueError("only the local stack records events; on AWS, target the bus with a rule of your own")
    sqs, found = deployment.client("sqs"), []
    deadline = time.monotonic() + wait_seconds
    while True:
        batch = sqs.receive_message(
            QueueUrl=deployment.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=deployment.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not batch:
            if time.monotonic() >= deadline:
                return found
            time.sleep(0.5)


def _item(deployment: Deployment, key: str) -> dict[str, Any] | None:
    answer = deployment.client("dynamodb").get_item(
        TableName=deployment.table, Key={names.TABLE_PARTITION_KEY: {"S": key}}, ConsistentRead=True
    )
    return answer.get("Item")


def _plus_year(iso: str) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) + REAUTHORIZE_AFTER
    return moment.astimezone(UTC).strftime(names.ISO_UTC_FORMAT)
