"""What the stack hands every function's construct, and the access most of the broker's functions take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.events import Events
from infra.settings import Settings
from infra.storage import Storage


@dataclass(frozen=True)
class Shared:
    settings: Settings
    code: lambda_.Code  # the one asset every function runs (infra/asset.py)
    environment: Mapping[str, str]  # what every function's config.py reads
    storage: Storage
    events: Events

    def grant_broker_access(
        self,
        role: iam.IGrantable,
        *,
        grant_actions: Sequence[str],
        table_actions: Sequence[str],
        secrets: Sequence[str] = (),
        writes_secrets: bool = True,
    ) -> None:
        """A function that works on grants: its actions on the grant secrets, reading the app secret (and
        `secrets`), its actions on the table, the key, and putting events on the bus. Each role gets exactly
        what its code calls (the IAM proof, tests/iam, holds every role to it)."""
        self.storage.grant_grants(role, *grant_actions)
        for secret_arn in (self.storage.app_secret_arn, *secrets):
            self.storage.grant_read_secret(role, secret_arn)
        self.storage.grant_table(role, *table_actions)
        self.storage.grant_key(role, writes_secrets=writes_secrets)
        self.events.grant_put_events(role)
