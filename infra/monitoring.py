"""Alarms and the dashboard: function health, rejected app credentials, sweeps that stop completing."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellertoken import names

PERIOD = Duration.minutes(5)
# Vend reports a caller's bad request or an unknown seller as a function error (errorType), so a
# few of those are normal; oauth renders its failures as pages, and the sweep should never fail.
# Ops is run by a person who sees its errors; a few typos are no alarm.
# The rotation function reports a notice it cannot use per message (partial batch failures), not as an error.
ERROR_THRESHOLDS = {"OAuth": 5, "Vend": 10, "Sweep": 1, "Ops": 5, "Rotation": 1}
# The client secret's expiry is this close and no rotation replaced it: the broker rotates at Amazon's first
# notice (90 days ahead) or at 150 days of age, so fewer than 21 days left means rotations keep failing.
SECRET_DAYS_LEFT_ALARM = 21
# Metric names the functions emit through Powertools (namespace and `service` dimension shared).
CACHE_METRICS = (
    names.METRIC_CACHE_HIT_MEMORY,
    names.METRIC_CACHE_HIT_SHARED,
    names.METRIC_LWA_REFRESH,
    names.METRIC_SHARED_CACHE_UNAVAILABLE,
    names.METRIC_REVOCATION_FEED_UNAVAILABLE,
    names.METRIC_LWA_THROTTLED,
    names.METRIC_LWA_BUDGET_EXHAUSTED,
)
SWEEP_METRICS = (
    names.METRIC_GRANTS_CHECKED,
    names.METRIC_GRANTS_REVOKED,
    names.METRIC_GRANTS_FAILING,
    names.METRIC_SWEEP_COMPLETED,
)
ROTATION_METRICS = (
    names.METRIC_APP_CREDENTIALS_ROTATED,
    names.METRIC_ROTATION_FAILED,
    names.METRIC_NOTICE_REJECTED,
)
CONSENT_METRICS = (
    names.METRIC_SELLER_AUTHORIZED,
    names.METRIC_CONSENT_FAILED,
    names.METRIC_CONSENT_REFUSED,
    names.METRIC_IDENTITY_UNVERIFIED,
    names.METRIC_EVENT_PUBLISH_FAILED,
)


def app_metric(name: str, period: Duration = PERIOD, statistic: str = "Sum") -> cloudwatch.Metric:
    # Powertools adds the service as a dimension to every metric it emits.
    return cloudwatch.Metric(
        namespace=names.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": names.SERVICE_NAME},
        statistic=statistic,
        period=period,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        sweep_period: Duration,
        topic: sns.ITopic | None,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                ERROR_THRESHOLDS[name],
                f"{name} function errors",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                1,
                f"{name} function throttled",
            )
        self._alarm(
            "AppCredentialsRejected",
            app_metric(names.METRIC_APP_CREDENTIALS_REJECTED),
            1,
            "LWA rejected the app's client id or secret: fix the app secret (no seller is affected)",
        )
        self._alarm(
            "RevocationNotRecorded",
            app_metric(names.METRIC_REVOCATION_NOT_RECORDED),
            1,
            "A flagged grant could not be written to the revocation feed (DynamoDB): vend containers may "
            "serve its cached tokens until they expire (at most an hour) instead of within the revocation bound",
        )
        self._alarm(
            "ConsentRefused",
            app_metric(names.METRIC_CONSENT_REFUSED),
            1,
            "A consent tried to land a refresh token on another account's grant and was refused: read the "
            "Seller Consent Refused event (seller, reason, references)",
        )
        self._alarm(
            "BrokerFault",
            app_metric(names.METRIC_BROKER_FAULT),
            1,
            "A vend answered BrokerFault: a missing permission, key, table or app secret, or a bug (see its log)",
        )
        self._alarm(
            "RotationFailed",
            app_metric(names.METRIC_ROTATION_FAILED),
            1,
            "Amazon refused a client-secret rotation (no queue registered for new secrets, throttled) or its new "
            "secret did not arrive: see `sellertoken app status`; the broker retries hourly and at the next notice",
        )
        self._alarm(
            "NoticesDeadLettered",
            dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            1,
            "A client-secret notification could not be used (another app's, malformed, out of order, or failing "
            "again and again) and is in the dead-letter queue: read it, then redrive or delete it",
        )
        self.secret_expiring = cloudwatch.Alarm(
            self,
            "AppSecretExpiring",
            alarm_description=f"The LWA client secret expires in fewer than {SECRET_DAYS_LEFT_ALARM} days and no "
            "rotation replaced it: `sellertoken app status`, then `app rotate` or rotate in the portal and "
            "`app set-secret`",
            metric=app_metric(names.METRIC_APP_SECRET_DAYS_LEFT, Duration.hours(1), "Minimum"),
            threshold=SECRET_DAYS_LEFT_ALARM,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # the Rotation errors alarm covers that
        )
        self.alarms.append(self.secret_expiring)
        self.sweep_missing = cloudwatch.Alarm(
            self,
            "SweepNotCompleted",
            alarm_description="No grant sweep completed within two schedule periods",
            metric=app_metric(names.METRIC_SWEEP_COMPLETED, sweep_period),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            # No datapoint is exactly the failure this alarm exists for.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.alarms.append(self.sweep_missing)
        if topic is not None:
            for alarm in self.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))
        self._dashboard(functions, sweep_period)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: int, description: str) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _dashboard(self, functions: Mapping[str, lambda_.IFunction], sweep_period: Duration) -> None:
        vend = functions["Vend"]
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Vend",
                left=[
                    vend.metric_invocations(period=PERIOD),
                    vend.metric_errors(period=PERIOD),
                    vend.metric_throttles(period=PERIOD),
                ],
                right=[
                    vend.metric_duration(period=PERIOD, statistic="p50"),
                    vend.metric_duration(period=PERIOD, statistic="p99"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Token cache", left=[app_metric(m) for m in CACHE_METRICS], width=12),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Sweep", left=[app_metric(m, sweep_period) for m in SWEEP_METRICS], width=12),
            cloudwatch.GraphWidget(title="Consent", left=[app_metric(m) for m in CONSENT_METRICS], width=12),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Client secret",
                left=[app_metric(m) for m in ROTATION_METRICS],
                right=[app_metric(names.METRIC_APP_SECRET_DAYS_LEFT, Duration.hours(1), "Minimum")],
                width=24,
            )
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
