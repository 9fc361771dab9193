"""The sellertoken stack: composes one construct per concern, nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.asset import build_lambda_asset
from infra.consent_api import ConsentApi
from infra.events import Events
from infra.monitoring import Monitoring
from infra.operations import Operations
from infra.outputs import output
from infra.rotation import Rotation
from infra.settings import Settings
from infra.shared import Shared
from infra.storage import Storage
from infra.sweep import Validation
from infra.vending import Vending
from sellertoken import names


class SellerTokenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_context(self)
        storage = Storage(self, "Storage", settings=settings)
        events = Events(self, "Events", settings=settings, key=storage.key)
        code = lambda_.Code.from_asset(str(build_lambda_asset()))
        environment = {
            names.ENV_PREFIX: settings.prefix,
            names.ENV_TABLE_NAME: storage.table.table_name,
            names.ENV_KMS_KEY_ID: storage.key.key_arn,
            names.ENV_EVENT_BUS_NAME: events.bus.event_bus_name,
            # vend keeps proof of its refreshes for the sweep's window; every function keeps the LWA budget.
            names.ENV_SWEEP_PERIOD_SECONDS: str(settings.sweep_rate_hours * 3600),
            names.ENV_SWEEP_PROOF_SECONDS: str(settings.sweep_proof_hours * 3600),
            names.ENV_LWA_RATE_PER_SECOND: str(settings.lwa_rate_per_second),
        }
        shared = Shared(settings=settings, code=code, environment=environment, storage=storage, events=events)
        self.consent = ConsentApi(self, "Consent", shared)
        self.vending = Vending(self, "Vending", shared)
        self.sweep = Validation(self, "Sweep", shared)  # the id names the deployed resources: kept
        self.operations = Operations(self, "Operations", shared)
        self.rotation = Rotation(self, "Rotation", shared)
        Monitoring(
            self,
            "Monitoring",
            functions={
                "OAuth": self.consent.oauth.function,
                "Vend": self.vending.vend.function,
                "Sweep": self.sweep.sweep.function,
                "Ops": self.operations.ops.function,
                "Rotation": self.rotation.function.function,
            },
            sweep_period=self.sweep.period,
            topic=events.topic,
            dead_letters=self.rotation.dead_letters,
        )
        output(self, "AppSecretArn", storage.app_secret_arn, "Fill with the LWA app credentials JSON")
        output(self, "KmsKeyArn", storage.key.key_arn, "Key of grants, secrets and table (retained)")
        output(self, "TableName", storage.table.table_name, "State and token cache table (retained)")
