"""The consent HTTP API: three GET routes, throttled, logged without query strings, optional domain."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match


def test_api_has_exactly_the_three_get_routes_on_one_payload_v2_integration(default):
    routes = {r["Properties"]["RouteKey"] for r in default.resources("AWS::ApiGatewayV2::Route").values()}
    assert routes == {"GET /authorize", "GET /login", "GET /callback"}
    default.template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration", {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"}
    )


def test_default_stage_is_throttled(default):
    default.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20},
        },
    )


def test_access_logs_are_json_and_never_hold_the_query_string(default):
    settings = default.one("AWS::ApiGatewayV2::Stage", "Stage")["Properties"]["AccessLogSettings"]
    fields = json.loads(settings["Format"])
    assert {"$context.requestId", "$context.routeKey", "$context.status", "$context.identity.sourceIp"} <= set(
        fields.values()
    )
    # The OAuth code travels in the query string of /callback: no variable that may carry it.
    assert not any(("path" in v.lower() or "query" in v.lower()) for v in fields.values())
    assert settings["DestinationArn"]["Fn::GetAtt"][1] == "Arn"


def test_redirect_and_login_uris_are_on_the_api_endpoint_without_a_domain(default):
    for output, path in (("RedirectUri", "/callback"), ("LoginUri", "/login")):
        base, suffix = default.json["Outputs"][output]["Value"]["Fn::Join"][1]
        assert base["Fn::GetAtt"][1] == "ApiEndpoint" and suffix == path
    assert not default.resources("AWS::ApiGatewayV2::DomainName")


def test_custom_domain_serves_the_api_and_becomes_the_registered_uris(full):
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "consent.example.com",
            "DomainNameConfigurations": [
                Match.object_like({"CertificateArn": Match.string_like_regexp("^arn:aws:acm")})
            ],
        },
    )
    full.template.resource_count_is("AWS::ApiGatewayV2::ApiMapping", 1)
    outputs = full.json["Outputs"]
    assert outputs["RedirectUri"]["Value"] == "https://consent.example.com/callback"
    assert outputs["LoginUri"]["Value"] == "https://consent.example.com/login"
    assert "DomainTarget" in outputs
