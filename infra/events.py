"""The EventBridge bus the functions publish to, and the optional alarm topic that people read."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.key import allow_service_publish
from infra.outputs import output
from infra.settings import Settings
from sellertoken import names

# Events a person must act on: a seller to re-invite, the app's own credentials to fix or rotate by hand, or a
# consent refused because it tried to land on another account's grant (who, where, why: the alarm says only that).
NOTIFIED_EVENTS = (
    names.EVENT_GRANT_REVOKED,
    names.EVENT_APP_CREDENTIALS_REJECTED,
    names.EVENT_APP_CREDENTIALS_EXPIRING,
    names.EVENT_CONSENT_REFUSED,
)


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """Targets the topic without aws_events_targets.SnsTopic, whose grant adds a key-policy statement
    with a wildcard action (kms:GenerateDataKey*); the exact permissions are granted below instead."""

    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn)


class Events(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # The default bus or the host application's own bus: either way it exists already.
        self.bus = events.EventBus.from_event_bus_name(self, "Bus", settings.event_bus_name)
        self.topic: sns.Topic | None = None
        if not settings.alarm_email:
            return
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"{settings.prefix} alarms", master_key=key, enforce_ssl=True
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        rules = [
            events.Rule(
                self,
                detail_type.title().replace(" ", ""),
                description=f"{detail_type} events to the alarm topic",
                event_bus=self.bus,
                event_pattern=events.EventPattern(source=[names.EVENT_SOURCE], detail_type=[detail_type]),
                targets=[_TopicTarget(self.topic)],
            )
            for detail_type in NOTIFIED_EVENTS
        ]
        # A topic policy replaces SNS's default one, and an encrypted topic also needs its key:
        # allow exactly the two services that publish here, for this account's resources only.
        account = Stack.of(self).account
        self._allow_publish("events.amazonaws.com", {"ArnEquals": {"aws:SourceArn": [r.rule_arn for r in rules]}})
        self._allow_publish("cloudwatch.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account}})
        allow_service_publish(key, "events.amazonaws.com")
        allow_service_publish(key, "cloudwatch.amazonaws.com")
        output(self, "AlarmTopicArn", self.topic.topic_arn, "SNS topic that alarms and notified events go to")

    def _allow_publish(self, service: str, conditions: dict) -> None:
        assert self.topic is not None
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )

    def grant_put_events(self, grantee: iam.IGrantable) -> None:
        self.bus.grant_put_events_to(grantee)
