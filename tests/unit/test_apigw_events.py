"""The local API Gateway builds the HTTP API (payload format 2.0) events API Gateway would deliver."""

from __future__ import annotations

import base64

from devstack.apigw import build_event


def test_cookie_header_is_split_into_the_cookies_list():
    # Given a browser sending two cookies in one header
    event = build_event("GET", "/callback", {"Cookie": "__Host-sellertoken-state=n0nce; theme=dark"})

    # Then they arrive one per entry, and not as a header
    assert event["cookies"] == ["__Host-sellertoken-state=n0nce", "theme=dark"]
    assert "cookie" not in event["headers"]


def test_blank_cookie_pieces_are_dropped():
    event = build_event("GET", "/callback", {"cookie": " a=1 ;; ; b=2; "})

    assert event["cookies"] == ["a=1", "b=2"]


def test_event_without_cookies_has_no_cookies_key():
    event = build_event("GET", "/callback", {"Host": "broker.example.test"})

    assert "cookies" not in event


def test_header_names_are_lowercased():
    event = build_event("GET", "/authorize", {"Host": "broker.example.test", "User-Agent": "pytest", "X-Trace": "1"})

    assert event["headers"] == {"host": "broker.example.test", "user-agent": "pytest", "x-trace": "1"}


def test_repeated_header_values_are_comma_joined():
    event = build_event("GET", "/authorize", {"X-Forwarded-For": "203.0.113.1", "x-forwarded-for": "198.51.100.2"})

    assert event["headers"]["x-forwarded-for"] == "203.0.113.1,198.51.100.2"


def test_repeated_query_parameters_are_comma_joined_like_api_gateway_v2():
    event = build_event("GET", "/callback?state=s1&state=s2&code=c")

    assert event["queryStringParameters"] == {"state": "s1,s2", "code": "c"}


def test_query_values_are_decoded_and_blank_ones_kept():
    event = build_event("GET", "/callback?next=%2Fhome%3Fa%3D1&empty=")

    assert event["queryStringParameters"] == {"next": "/home?a=1", "empty": ""}


def test_raw_query_string_is_kept_verbatim():
    event = build_event("GET", "/callback?state=s1&state=s2&next=%2Fhome")

    assert event["rawQueryString"] == "state=s1&state=s2&next=%2Fhome"


def test_event_without_query_has_no_parameters_and_an_empty_raw_query():
    event = build_event("GET", "/authorize")

    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""


def test_route_key_defaults_to_method_and_path():
    event = build_event("GET", "/authorize?marketplace=US")

    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /authorize"


def test_given_route_key_is_kept():
    event = build_event("POST", "/grants/eu/A1", route_key="POST /grants/{region}/{seller}")

    assert event["routeKey"] == event["requestContext"]["routeKey"] == "POST /grants/{region}/{seller}"


def test_request_context_carries_method_path_and_source_ip():
    event = build_event("POST", "/callback?x=1", {"User-Agent": "pytest"}, source_ip="198.51.100.7")

    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"], http["userAgent"]) == (
        "POST",
        "/callback",
        "198.51.100.7",
        "pytest",
    )


def test_raw_path_stays_encoded_and_the_context_path_is_decoded():
    event = build_event("GET", "/a%20b")

    assert event["rawPath"] == "/a%20b"
    assert event["requestContext"]["http"]["path"] == "/a b"


def test_empty_path_is_the_root():
    event = build_event("GET", "?x=1")

    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/"


def test_domain_name_comes_from_the_host_header():
    event = build_event("GET", "/", {"Host": "broker.example.test"})

    assert event["requestContext"]["domainName"] == "broker.example.test"
    assert event["requestContext"]["domainPrefix"] == "broker"


def test_body_is_base64_encoded():
    event = build_event("POST", "/vend", {"Content-Type": "application/json"}, b'{"seller":"A1"}')

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"seller":"A1"}'


def test_event_without_body_has_no_body():
    event = build_event("GET", "/authorize")

    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_event_is_payload_format_2_0():
    event = build_event("GET", "/authorize")

    assert event["version"] == "2.0"
    assert event["requestContext"]["stage"] == "$default"
