"""moto, corrected where it differs from AWS (devstack/motofix.py), behaves as AWS documents."""

from __future__ import annotations

import boto3
from moto import mock_aws

from devstack import motofix


def stages(sm, name: str) -> dict[str, list[str]]:
    return sm.describe_secret(SecretId=name)["VersionIdsToStages"]


def test_moving_awscurrent_back_makes_that_version_current_and_a_later_put_demotes_it():
    motofix.apply()
    motofix.apply()  # idempotent
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        first = sm.create_secret(Name="g", SecretString="first")["VersionId"]
        second = sm.put_secret_value(SecretId="g", SecretString="second")["VersionId"]

        sm.update_secret_version_stage(
            SecretId="g", VersionStage="AWSCURRENT", MoveToVersionId=first, RemoveFromVersionId=second
        )

        assert sm.get_secret_value(SecretId="g")["SecretString"] == "first"
        assert stages(sm, "g") == {first: ["AWSCURRENT"], second: ["AWSPREVIOUS"]}
        third = sm.put_secret_value(SecretId="g", SecretString="third")["VersionId"]
        assert sm.get_secret_value(SecretId="g")["SecretString"] == "third"
        assert {v: s for v, s in stages(sm, "g").items() if s} == {first: ["AWSPREVIOUS"], third: ["AWSCURRENT"]}
