"""A revocation reaches every container within the bound: two or three `Vendor`s stand for containers (each
its own memory), on moto and the Amazon simulator. A container's clock is skipped forward instead of waiting.

What these tests prove: once a grant is flagged (by the sweep, by another container's vend, or by an operator),
a container that holds its tokens in memory answers `GrantRevoked` as soon as its clock passes the bound (the
default 60 s), whether or not DynamoDB answers; before that it may still serve from memory, which is the
price of a memory hit without I/O. A container that has nothing cached refuses at once.
"""

from __future__ import annotations

import time

import pytest
import requests
from botocore.awsrequest import AWSResponse

from sellertoken import aws as aws_clients
from sellertoken import grants, lifecycle, names, observability
from sellertoken.config import get_config
from sellertoken.errors import GrantRevoked
from sellertoken.sweep import FULL, Cursor, Sweep
from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG
from sellertoken.vending import Vendor, parse_request

ORDERS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]


class SkippingClock:
    """Real time plus whatever the test skips forward (a container whose minute has passed)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def wall(self) -> float:
        return time.time() + self.skipped

    def skip(self, seconds: float) -> None:
        self.skipped += seconds


def access(seller: str) -> dict:
    return {"selling_partner_id": seller, "region": "na"}


def restricted(seller: str) -> dict:
    return {**access(seller), "restricted_resources": ORDERS}


def vend(vendor: Vendor, payload: dict) -> str:
    return vendor.vend(parse_request(payload))["access_token"]


def refreshes(aws) -> int:
    return aws.amazon.calls().get("token.refresh_token", 0)


def sp_api_accepts(aws, token: str) -> bool:
    url = aws.amazon.base_url + "/sellers/v1/marketplaceParticipations"
    return requests.get(url, headers={"x-amz-access-token": token}, timeout=5).status_code == 200


def flag_as_operator(seller: str) -> None:
    config = get_config()
    lifecycle.flag_revoked(config, grants.load(config.prefix, "na", seller), "operator", detected_by="operator")


def bound() -> float:
    return get_config().revocation_bound_seconds


@pytest.fixture
def metrics(monkeypatch) -> list[str]:
    recorded: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, **_: recorded.append(name))
    return recorded


def test_after_the_sweep_flags_a_seller_a_container_with_its_token_in_memory_refuses_within_the_bound(authorize, aws):
    # Given a container that serves the seller from memory (the memory hit read the feed: nothing flagged)
    seller = authorize()
    clock = SkippingClock()
    container = Vendor(get_config(), clock=clock)
    cached = vend(container, access(seller))
    assert vend(container, access(seller)) == cached

    # When the seller removes the app and a full sweep flags it (a default one would count the vend's refresh
    # a moment ago as the grant's check: tests/integration/test_sweep_proof.py)
    aws.amazon.revoke(seller)
    assert Sweep(get_config()).run(Cursor.new("revocation", FULL), lambda: 900.0).cursor.counts == {"revoked": 1}
    aws.amazon.reset_calls()

    # Then before the bound the container may still answer from memory (no I/O on a hit) ...
    assert vend(container, access(seller)) == cached
    # ... and once its clock has passed the bound it answers GrantRevoked, from the grant's status, not LWA
    clock.skip(bound())
    with pytest.raises(GrantRevoked):
        vend(container, access(seller))
    assert refreshes(aws) == 0


def test_a_flag_raised_by_another_containers_vend_reaches_a_container_with_the_token_in_memory(authorize, aws):
    # Given container B serves the seller from memory
    seller = authorize()
    clock = SkippingClock()
    b = Vendor(get_config(), clock=clock)
    vend(b, access(seller))

    # When the seller removes the app and container A learns it on a vend (SP-API refuses, LWA: invalid_grant)
    aws.amazon.revoke(seller)
    with pytest.raises(GrantRevoked):
        vend(Vendor(get_config()), restricted(seller))

    # Then B answers GrantRevoked once its clock has passed the bound
    clock.skip(bound())
    with pytest.raises(GrantRevoked):
        vend(b, access(seller))


def test_an_operators_flag_stops_every_container_although_amazon_still_honours_the_grant(authorize, aws):
    # Given container B serves the seller's access token and a Restricted Data Token from memory
    seller = authorize()
    clock = SkippingClock()
    b = Vendor(get_config(), clock=clock)
    vend(b, access(seller))
    vend(b, restricted(seller))

    # When an operator flags the grant (LWA would still refresh it: only the broker's flag stops it)
    flag_as_operator(seller)
    aws.amazon.reset_calls()

    # Then a container with nothing in memory refuses at once, even the RDT the shared cache still holds
    fresh = Vendor(get_config())
    with pytest.raises(GrantRevoked):
        vend(fresh, restricted(seller))
    with pytest.raises(GrantRevoked):
        vend(fresh, access(seller))
    # And B refuses both of its cached tokens once its clock has passed the bound
    clock.skip(bound())
    with pytest.raises(GrantRevoked):
        vend(b, restricted(seller))
    with pytest.raises(GrantRevoked):
        vend(b, access(seller))
    assert refreshes(aws) == 0


def dynamodb_throttles() -> None:
    """Every call of the broker's fail-fast DynamoDB client answers ThrottlingException from now on."""

    def throttled(**_):
        response = AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None)
        error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    aws_clients.client("dynamodb", SHARED_CACHE_BOTO_CONFIG).meta.events.register("before-call.dynamodb.*", throttled)


def test_with_dynamodb_failing_the_flag_still_reaches_a_container_within_the_bound(authorize, aws, metrics):
    # Given a container that serves the seller from memory
    seller = authorize()
    clock = SkippingClock()
    container = Vendor(get_config(), clock=clock)
    cached = vend(container, access(seller))

    # When DynamoDB throttles everything (the feed can be neither written nor read) and an operator flags it
    dynamodb_throttles()
    flag_as_operator(seller)
    aws.amazon.reset_calls()

    # Then while its token is younger than the bound the container still serves it without calling LWA ...
    clock.skip(bound() / 2)
    assert vend(container, access(seller)) == cached and refreshes(aws) == 0
    # ... and after the bound it reads the grant's status: GrantRevoked
    clock.skip(bound() / 2)
    with pytest.raises(GrantRevoked):
        vend(container, access(seller))
    assert refreshes(aws) == 0
    assert names.METRIC_REVOCATION_NOT_RECORDED in metrics  # the flag could not reach the feed: alarm
    assert names.METRIC_REVOCATION_FEED_UNAVAILABLE in metrics


def test_with_dynamodb_failing_a_young_token_is_still_served_from_memory(authorize, aws, metrics):
    # Given DynamoDB throttling everything before a container's first vend
    seller = authorize()
    dynamodb_throttles()
    container = Vendor(get_config())
    aws.amazon.reset_calls()

    # When the seller is vended 50 times
    tokens = {vend(container, access(seller)) for _ in range(50)}

    # Then one LWA refresh serves them all: a token minted within the bound needs no feed to vouch for it
    assert len(tokens) == 1 and refreshes(aws) == 1
    assert metrics.count(names.METRIC_REVOCATION_FEED_UNAVAILABLE) == 1  # one failed read, retried later


def test_a_reauthorized_seller_vends_again_at_once_in_both_containers(authorize, aws):
    # Given a seller flagged revoked, known as such by two containers
    seller = authorize()
    clocks = SkippingClock(), SkippingClock()
    a, b = (Vendor(get_config(), clock=c) for c in clocks)
    vend(a, access(seller))
    vend(b, access(seller))
    aws.amazon.revoke(seller)
    with pytest.raises(GrantRevoked):
        vend(Vendor(get_config()), restricted(seller))
    for clock, container in zip(clocks, (a, b), strict=True):
        clock.skip(bound())
        with pytest.raises(GrantRevoked):
            vend(container, access(seller))

    # When the seller authorizes the app again
    authorize(seller=seller)

    # Then both containers vend working tokens at once, bound after bound (the flag's entry is still in the feed)
    for _ in range(3):
        for clock, container in zip(clocks, (a, b), strict=True):
            assert sp_api_accepts(aws, vend(container, access(seller)))
            assert vend(container, restricted(seller)).startswith("Atz.sprdt|")
            clock.skip(bound())
