"""The vend function's contract, on moto and the Amazon simulator."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from sellertoken import names, tokencache
from sellertoken.config import get_config
from sellertoken.errors import AppCredentialsRejected, GrantNotFound, GrantRevoked, InvalidRequest, UpstreamUnavailable
from sellertoken.vending import Vendor, parse_request

ORDERS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]


def refreshes(aws) -> int:
    return aws.amazon.calls().get("token.refresh_token", 0)


def sp_api_accepts(aws, token: str, path: str = "/sellers/v1/marketplaceParticipations") -> bool:
    return requests.get(aws.amazon.base_url + path, headers={"x-amz-access-token": token}, timeout=5).status_code == 200


def test_a_seller_gets_a_working_access_token_with_its_endpoint(vend, authorize, aws):
    seller = authorize()

    answer = vend({"selling_partner_id": seller, "region": "na"})

    assert answer["access_token"].startswith("Atza|") and sp_api_accepts(aws, answer["access_token"])
    assert answer["token_type"] == "bearer" and answer["kind"] == "access"
    assert (answer["selling_partner_id"], answer["region"]) == (seller, "na")
    assert answer["endpoint"] == aws.amazon.base_url
    assert 3500 <= answer["expires_in"] <= 3600
    assert answer["expires_at"].endswith("Z")


def test_repeated_vends_call_lwa_once(vend, authorize, aws):
    seller = authorize()
    aws.amazon.reset_calls()

    tokens = {vend({"selling_partner_id": seller, "region": "na"})["access_token"] for _ in range(50)}

    assert len(tokens) == 1 and refreshes(aws) == 1


def test_another_container_is_served_from_the_shared_cache(authorize, aws):
    seller = authorize()
    first = Vendor(get_config()).vend(parse_request({"selling_partner_id": seller, "region": "na"}))
    aws.amazon.reset_calls()

    second = Vendor(get_config()).vend(parse_request({"selling_partner_id": seller, "region": "na"}))

    assert second["access_token"] == first["access_token"] and refreshes(aws) == 0


def test_a_token_is_never_returned_with_less_than_the_requested_time_left(authorize, aws):
    seller = authorize()
    vendor = Vendor(get_config())
    request = parse_request({"selling_partner_id": seller, "region": "na"})
    old = vendor.vend(request)
    # Age the cached token in both caches to 10 minutes left.
    for key, token in list(vendor.memory._tokens.items()):
        aged = tokencache.CachedToken(token.access_token, time.time() + 600)
        vendor.memory.put(key, aged)
        vendor.shared.put(key, aged)
    aws.amazon.reset_calls()

    relaxed = vendor.vend(parse_request({"selling_partner_id": seller, "region": "na", "min_ttl_seconds": 300}))
    strict = vendor.vend(parse_request({"selling_partner_id": seller, "region": "na", "min_ttl_seconds": 900}))

    assert relaxed["access_token"] == old["access_token"] and relaxed["expires_in"] >= 300
    assert strict["access_token"] != old["access_token"] and strict["expires_in"] >= 900
    assert refreshes(aws) == 1


def test_a_token_with_less_than_a_minute_left_is_never_served(authorize, aws):
    seller = authorize()
    vendor = Vendor(get_config())
    vendor.vend(parse_request({"selling_partner_id": seller, "region": "na"}))
    for key, token in list(vendor.memory._tokens.items()):
        vendor.memory.put(key, tokencache.CachedToken(token.access_token, time.time() + 59))
        vendor.shared.put(key, tokencache.CachedToken(token.access_token, time.time() + 59))
    aws.amazon.reset_calls()

    answer = vendor.vend(parse_request({"selling_partner_id": seller, "region": "na"}))

    assert answer["expires_in"] > 3000 and refreshes(aws) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "JSON object"),
        ({"region": "na"}, "selling_partner_id"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7"}, "region"),
        ({"selling_partner_id": "<script>", "region": "na"}, "selling_partner_id"),
        ({"selling_partner_id": "a1b2c3d4e5f6g7", "region": "na"}, "selling_partner_id"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "us"}, "region"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "min_ttl_seconds": 3301}, "min_ttl_seconds"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "min_ttl_seconds": -1}, "min_ttl_seconds"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "min_ttl_seconds": "60"}, "min_ttl_seconds"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "min_ttl_seconds": True}, "min_ttl_seconds"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "restricted_resources": []}, "restricted_resources"),
        (
            {"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "restricted_resources": ORDERS * 51},
            "restricted_resources",
        ),
        (
            {
                "selling_partner_id": "A1B2C3D4E5F6G7",
                "region": "na",
                "restricted_resources": [{"method": "PATCH", "path": "/x"}],
            },
            "restricted_resources[0].method",
        ),
        (
            {
                "selling_partner_id": "A1B2C3D4E5F6G7",
                "region": "na",
                "restricted_resources": [{"method": "GET", "path": "orders"}],
            },
            "restricted_resources[0].path",
        ),
        (
            {
                "selling_partner_id": "A1B2C3D4E5F6G7",
                "region": "na",
                "restricted_resources": [{"method": "GET", "path": "/o", "dataElements": ["creditCard"]}],
            },
            "restricted_resources[0].dataElements",
        ),
        ({"scope": "sellingpartnerapi::migration"}, "scope"),
        ({"scope": "sellingpartnerapi::notifications", "selling_partner_id": "A1B2C3D4E5F6G7"}, "scope"),
        ({"selling_partner_id": "A1B2C3D4E5F6G7", "region": "na", "refresh_token": "x"}, "refresh_token"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_never_reaches_lwa(vend, aws, payload, field):
    aws.amazon.reset_calls()

    with pytest.raises(InvalidRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        vend(payload)

    assert sum(aws.amazon.calls().values()) == 0


def test_an_unknown_grant_is_grant_not_found_without_lwa(vend, aws):
    aws.amazon.reset_calls()

    with pytest.raises(GrantNotFound):
        vend({"selling_partner_id": "A0000000000000", "region": "na"})

    assert refreshes(aws) == 0


def test_a_grant_in_another_region_is_not_found(vend, authorize, aws):
    seller = authorize("region=eu")

    with pytest.raises(GrantNotFound):
        vend({"selling_partner_id": seller, "region": "na"})


def test_a_revoked_grant_is_refused_without_calling_lwa(vend, authorize, aws):
    from sellertoken import grants

    seller = authorize()
    grants.mark_revoked(names.DEFAULT_PREFIX, "na", seller, "invalid_grant")
    aws.amazon.reset_calls()

    with pytest.raises(GrantRevoked):
        vend({"selling_partner_id": seller, "region": "na"})

    assert refreshes(aws) == 0


def test_invalid_grant_during_a_vend_flags_the_seller_and_announces_it(vend, authorize, aws):
    seller = authorize()
    other = authorize()
    aws.amazon.revoke(seller)

    with pytest.raises(GrantRevoked):
        vend({"selling_partner_id": seller, "region": "na"})

    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_REVOKED
    assert aws.grant("na", seller)[1][names.TAG_REVOKED_REASON] == "invalid_grant"
    assert aws.grant("na", other)[1][names.TAG_STATUS] == names.STATUS_ACTIVE
    events = aws.events()
    assert [e["detail-type"] for e in events] == [names.EVENT_GRANT_REVOKED]
    assert events[0]["detail"]["selling_partner_id"] == seller and events[0]["detail"]["detected_by"] == "vend"
    aws.amazon.reset_calls()
    with pytest.raises(GrantRevoked):
        vend({"selling_partner_id": seller, "region": "na"})
    assert refreshes(aws) == 0


def test_rejected_app_credentials_flag_nobody_and_count_for_the_alarm(vend, authorize, aws, monkeypatch):
    from sellertoken import observability

    recorded: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, **_: recorded.append(name))
    seller = authorize()
    aws.amazon.set_client_secret_valid(False)
    try:
        with pytest.raises(AppCredentialsRejected):
            vend({"selling_partner_id": seller, "region": "na"})
    finally:
        aws.amazon.set_client_secret_valid(True)

    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_ACTIVE
    assert aws.events() == []
    assert names.METRIC_APP_CREDENTIALS_REJECTED in recorded


def test_lwa_down_is_upstream_unavailable_and_flags_nobody(vend, authorize, aws):
    seller = authorize()
    aws.amazon.set_fault("token", status=503)
    try:
        with pytest.raises(UpstreamUnavailable):
            vend({"selling_partner_id": seller, "region": "na"})
    finally:
        aws.amazon.set_fault("token")

    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_ACTIVE


def test_a_restricted_data_token_is_vended_and_cached_per_resource_set(vend, authorize, aws):
    seller = authorize()
    aws.amazon.reset_calls()

    first = vend({"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS})
    again = vend({"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS})
    other = vend(
        {
            "selling_partner_id": seller,
            "region": "na",
            "restricted_resources": [{"method": "GET", "path": "/mfn/v0/shipments/{id}"}],
        }
    )

    assert first["access_token"].startswith("Atz.sprdt|") and first["kind"] == "restricted"
    assert again["access_token"] == first["access_token"] and other["access_token"] != first["access_token"]
    assert aws.amazon.calls()["tokens.restrictedDataToken"] == 2
    assert refreshes(aws) == 1
    assert sp_api_accepts(aws, first["access_token"], "/orders/v0/orders")


def test_a_refused_restricted_data_token_is_an_invalid_request(vend, authorize, aws):
    seller = authorize()
    aws.amazon.set_fault("rdt", status=400)
    try:
        with pytest.raises(InvalidRequest, match="InvalidInput"):
            vend({"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS})
    finally:
        aws.amazon.set_fault("rdt")


def test_a_restricted_data_token_for_a_seller_revoked_since_the_last_vend_flags_the_seller(vend, authorize, aws):
    seller = authorize()
    vend({"selling_partner_id": seller, "region": "na"})  # an access token is now cached
    aws.amazon.revoke(seller)

    with pytest.raises(GrantRevoked):
        vend({"selling_partner_id": seller, "region": "na", "restricted_resources": ORDERS})

    assert aws.grant("na", seller)[1][names.TAG_STATUS] == names.STATUS_REVOKED


def test_a_grantless_token_is_vended_and_cached(vend, aws):
    aws.amazon.reset_calls()

    first = vend({"scope": "sellingpartnerapi::notifications", "region": "eu"})
    again = vend({"scope": "sellingpartnerapi::notifications"})

    assert first["access_token"].startswith("Atc|") and first["kind"] == "grantless"
    assert again["access_token"] == first["access_token"] and again["endpoint"] is None
    assert aws.amazon.calls()["token.client_credentials"] == 1


def test_concurrent_vends_in_one_container_refresh_once(authorize, aws):
    seller = authorize()
    vendor = Vendor(get_config())
    aws.amazon.reset_calls()
    aws.amazon.set_fault("token", latency_ms=100)
    answers: list[str] = []
    barrier = threading.Barrier(20)

    def one() -> None:
        barrier.wait()
        answers.append(vendor.vend(parse_request({"selling_partner_id": seller, "region": "na"}))["access_token"])

    threads = [threading.Thread(target=one) for _ in range(20)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        aws.amazon.set_fault("token")

    assert len(answers) == 20 and len(set(answers)) == 1 and refreshes(aws) == 1


def test_a_lease_whose_holder_died_expires_within_seconds(authorize, aws):
    seller = authorize()
    vendor = Vendor(get_config())
    vendor.shared.lease_seconds = 2.0
    request = parse_request({"selling_partner_id": seller, "region": "na"})
    from sellertoken import appcreds

    key = (appcreds.load(names.DEFAULT_PREFIX).client_id, "na", seller, "access")
    owner = vendor.shared.acquire_lease(key)  # a holder that will never come back
    assert owner is not None
    aws.amazon.reset_calls()
    started = time.monotonic()

    answer = vendor.vend(request)

    waited = time.monotonic() - started
    assert answer["access_token"].startswith("Atza|") and refreshes(aws) == 1
    assert 1.0 <= waited <= 2.0 + 3


def test_vending_goes_on_when_the_shared_cache_is_down(authorize, aws, monkeypatch):
    from sellertoken import observability

    seller = authorize()
    recorded: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, **_: recorded.append(name))
    aws.clients["dynamodb"].delete_table(TableName=aws.seeded.table_name)
    vendor = Vendor(get_config())

    first = vendor.vend(parse_request({"selling_partner_id": seller, "region": "na"}))
    second = vendor.vend(parse_request({"selling_partner_id": seller, "region": "na"}))

    assert first["access_token"] == second["access_token"]
    assert "SharedCacheUnavailable" in recorded and "CacheHitMemory" in recorded
