"""The public consent endpoints: an HTTP API (payload v2) in front of the oauth function."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.checks import acknowledge
from infra.function import SellerTokenFunction
from infra.outputs import output
from infra.settings import Settings
from infra.shared import Shared
from sellertoken import names

ROUTES = names.CONSENT_ROUTES
# Consent is a human clicking through Seller Central: a few requests a second is generous, and the
# cap bounds what a flood of forged callbacks can cost.
THROTTLE = apigwv2.ThrottleSettings(rate_limit=10, burst_limit=20)
# The query string of /callback carries the one-time OAuth code and of /login Amazon's state:
# only these fields are logged, none of which holds the query string.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}
# A consent creates a grant, or writes a new version of it and re-tags it (restoring it first if it was
# deleted); it reads the stored grant (GetSecretValue) only to check that the new token is the same
# account's (grantcheck.py).
GRANT_ACTIONS = (
    "CreateSecret",
    "PutSecretValue",
    "TagResource",
    "UntagResource",
    "DescribeSecret",
    "GetSecretValue",
    "RestoreSecret",
)
# The single-use consent state: a conditional PutItem both checks and marks it.
TABLE_ACTIONS = ("PutItem",)


class ConsentApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, shared: Shared) -> None:
        super().__init__(scope, construct_id)
        settings = shared.settings
        self.api = apigwv2.HttpApi(
            self, "Api", description=f"{settings.prefix} seller consent", create_default_stage=False
        )
        base_url = f"https://{settings.domain_name}" if settings.domain_name else self.api.api_endpoint
        oauth_environment = {
            **shared.environment,
            names.ENV_REDIRECT_URI: f"{base_url}/callback",
            names.ENV_APP_IS_DRAFT: "true" if settings.app_is_draft else "false",
        }
        if settings.success_url:
            oauth_environment[names.ENV_SUCCESS_URL] = settings.success_url
        self.oauth = SellerTokenFunction(
            self,
            "OAuth",
            code=shared.code,
            handler=names.FUNCTION_HANDLERS["oauth"],
            description="Seller consent: /authorize, /login, /callback",
            environment=oauth_environment,
            # The authorization code lives 5 minutes and works once: fail fast, never retry late.
            timeout=Duration.seconds(15),
        )
        integration = HttpLambdaIntegration(
            "OAuth", self.oauth.function, payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0
        )
        for path in ROUTES:
            self.api.add_routes(path=path, methods=[apigwv2.HttpMethod.GET], integration=integration)
        self._stage(settings)
        acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "Consent routes are opened by sellers' browsers and Amazon's redirects, which carry no "
            "credentials; /callback is protected by a signed, single-use state bound to a browser "
            "cookie, checked by the function.",
        )
        shared.grant_broker_access(
            self.oauth.role,
            grant_actions=GRANT_ACTIONS,
            table_actions=TABLE_ACTIONS,
            secrets=[shared.storage.state_key_secret_arn],
        )

        output(self, "RedirectUri", f"{base_url}/callback", "OAuth Redirect URI to register in Seller Central")
        output(self, "LoginUri", f"{base_url}/login", "OAuth Login URI to register in Seller Central")
        output(self, "AuthorizeUrl", f"{base_url}/authorize", "Send sellers here (?region=na|eu|fe)")

    def _stage(self, settings: Settings) -> None:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        domain_mapping = None
        if settings.domain_name and settings.certificate_arn:
            domain = apigwv2.DomainName(
                self,
                "Domain",
                domain_name=settings.domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", settings.certificate_arn),
            )
            domain_mapping = apigwv2.DomainMappingOptions(domain_name=domain)
            output(
                self, "DomainTarget", domain.regional_domain_name, f"DNS target (CNAME/alias) of {settings.domain_name}"
            )
        stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=THROTTLE,
            domain_mapping=domain_mapping,
        )
        # Set on the CloudFormation resource so that the format is exactly the JSON above.
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=json.dumps(ACCESS_LOG_FORMAT)
        )
        output(self, "ApiUrl", self.api.api_endpoint, "Consent API endpoint (execute-api)")
