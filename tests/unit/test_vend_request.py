"""parse_request refuses what it cannot honour, naming the field, in a message of bounded size."""

from __future__ import annotations

import pytest

from sellertoken.errors import MAX_ECHO, InvalidRequest
from sellertoken.vending import parse_request

NOTIFICATIONS = "sellingpartnerapi::notifications"


@pytest.mark.parametrize("field", ["target_application", "selling_partner_id", "restricted_resources"])
def test_a_grantless_request_with_a_sellers_field_is_refused_naming_that_field(field):
    # Given a grantless request that also carries a field only a seller's token can honour
    values = {
        "target_application": "amzn1.sp.solution.delegatee",
        "selling_partner_id": "A1B2C3D4E5F6G7",
        "restricted_resources": [{"method": "GET", "path": "/orders/v0/orders"}],
    }
    payload = {"scope": NOTIFICATIONS, field: values[field]}

    # When it is parsed, Then it is refused (never silently ignored) and the message names the field
    with pytest.raises(InvalidRequest) as refused:
        parse_request(payload)
    assert str(refused.value).startswith(field)


def test_a_huge_unknown_field_name_gives_a_short_message():
    # Given a payload whose unknown field's name is a megabyte long
    with pytest.raises(InvalidRequest) as refused:
        parse_request({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "x" * 1_000_000: 1})

    # Then the message shows a bounded prefix of it
    assert str(refused.value).startswith("unknown field: xxx")
    assert len(str(refused.value)) <= len("unknown field: ") + MAX_ECHO


def test_an_unknown_field_name_with_control_bytes_is_never_echoed_raw():
    with pytest.raises(InvalidRequest) as refused:
        parse_request({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "a\x00b\r\nc\x7f\u202e": 1})

    assert str(refused.value) == "unknown field: a?b??c??"


def test_a_grantless_request_may_still_name_its_region_and_least_lifetime():
    request = parse_request({"scope": NOTIFICATIONS, "region": "eu", "min_ttl_seconds": 600})

    assert (request.scope, request.region, request.min_ttl_seconds, request.selling_partner_id) == (
        NOTIFICATIONS,
        "eu",
        600,
        None,
    )
