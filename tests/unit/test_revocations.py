"""The revocation feed (one item in the table, on moto) and a container's watch over it (injected clock)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from devstack.awsserver import LocalAwsServer
from sellertoken import names, observability, revocations
from sellertoken.revocations import CLOCK_MARGIN_SECONDS, Feed, FeedUnavailable, RevocationFeed, RevocationWatch

TABLE = "sellertoken-test"
NOW = 1_900_000_000.0
SELLER = ("na", "A1B2C3D4E5F6G7")
OTHER = ("na", "A7G6F5E4D3C2B1")


def create_table(client) -> RevocationFeed:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": names.TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": names.TABLE_PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return RevocationFeed(TABLE, client)


@pytest.fixture
def feed():
    with mock_aws():
        yield create_table(boto3.client("dynamodb"))


@pytest.fixture
def served_feed():
    """The feed on moto's server with DynamoDB requests serialized, so an update is atomic as in DynamoDB."""
    server = LocalAwsServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        url = "http://{}:{}".format(*server.get_host_and_port())
        yield create_table(boto3.client("dynamodb", endpoint_url=url))
    finally:
        server.stop()


def item(feed: RevocationFeed) -> dict:
    key = {names.TABLE_PARTITION_KEY: {"S": revocations.FEED_KEY}}
    return feed._client.get_item(TableName=TABLE, Key=key).get("Item", {})


class FakeClock:
    """Monotonic and wall time that move only when the test says so."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now


# ---------------------------------------------------------------- the feed item


def test_a_recorded_grant_voids_its_tokens_minted_before_the_moment_and_no_others(feed):
    feed.record(*SELLER, at=NOW)

    copy = feed.read()

    assert not copy.admits(SELLER, NOW - 600)
    assert not copy.admits(SELLER, NOW + CLOCK_MARGIN_SECONDS - 0.1)  # within the clocks' margin: still void
    assert copy.admits(SELLER, NOW + CLOCK_MARGIN_SECONDS)  # a refresh after the flag (re-authorized)
    assert copy.admits(OTHER, NOW - 600)


def test_an_empty_table_has_an_empty_feed_that_voids_nothing(feed):
    assert feed.read().admits(SELLER, 0.0)


def test_an_entry_moves_forward_only(feed):
    feed.record(*SELLER, at=NOW)

    feed.record(*SELLER, at=NOW - 30)  # a writer whose clock is behind

    assert not feed.read().admits(SELLER, NOW - 1)


def test_concurrent_flags_of_many_grants_are_all_recorded(served_feed):
    sellers = [("eu", f"A{i:013d}") for i in range(40)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda grant: served_feed.record(*grant, at=NOW), sellers))

    copy = served_feed.read()
    assert [grant for grant in sellers if copy.admits(grant, NOW - 1)] == []


def test_entries_older_than_a_token_lifetime_are_pruned_by_the_next_write(feed):
    feed.record(*SELLER, at=NOW)
    later = NOW + revocations.TOKEN_LIFETIME_SECONDS + CLOCK_MARGIN_SECONDS + 1

    feed.record(*OTHER, at=later)

    assert [name for name in item(feed) if name.startswith("g#")] == ["g#na#A7G6F5E4D3C2B1"]
    assert feed.read().admits(SELLER, 0.0)  # every token it could void has expired


def test_a_feed_over_its_size_folds_the_oldest_entries_into_a_floor_that_still_voids_them(feed):
    small = RevocationFeed(TABLE, feed._client, max_entries=3)
    sellers = [("fe", f"A{i:013d}") for i in range(5)]

    for i, grant in enumerate(sellers):
        small.record(*grant, at=NOW + i)

    stored = item(feed)
    assert len([name for name in stored if name.startswith("g#")]) == 3
    assert float(stored["floor"]["N"]) == NOW + 1
    copy = small.read()
    assert not any(copy.admits(grant, NOW) for grant in sellers)  # folded or listed, every old token is void
    assert not copy.admits(OTHER, NOW)  # the price of the fold: every grant's older tokens are refreshed once
    assert copy.admits(OTHER, NOW + 1 + CLOCK_MARGIN_SECONDS)


def test_a_missing_table_makes_the_feed_unavailable_not_a_botocore_error(feed):
    feed._client.delete_table(TableName=TABLE)

    with pytest.raises(FeedUnavailable):
        feed.read()
    with pytest.raises(FeedUnavailable):
        feed.record(*SELLER, at=NOW)


# ---------------------------------------------------------------- a container's watch


class Reads:
    """A feed that counts its reads and answers what the test puts in it."""

    def __init__(self) -> None:
        self.count = 0
        self.copy = Feed()
        self.failing = False

    def __call__(self) -> Feed:
        self.count += 1
        if self.failing:
            raise FeedUnavailable("ProvisionedThroughputExceededException")
        return self.copy


def flagged(grant: tuple[str, str], at: float) -> Feed:
    return Feed({grant: at + CLOCK_MARGIN_SECONDS})


def test_the_feed_is_read_once_per_bound_however_many_hits(monkeypatch):
    clock, reads = FakeClock(), Reads()
    watch = RevocationWatch(reads, 60.0, clock)

    for _ in range(10_000):
        watch.admits(SELLER, NOW - 10)
    clock.now += 53.9
    watch.admits(SELLER, NOW - 10)
    first_bound = reads.count
    clock.now += 0.2  # 54.1 s after the read: re-read shortly before the copy stops vouching at 55 s
    watch.admits(SELLER, NOW - 10)

    assert (first_bound, reads.count) == (1, 2)


def test_a_flag_after_the_last_read_is_enforced_once_the_copy_would_be_older_than_the_bound():
    clock, reads = FakeClock(), Reads()
    watch = RevocationWatch(reads, 60.0, clock)
    minted = NOW - 100
    assert watch.admits(SELLER, minted)

    # Given the seller flagged right after this container read the feed
    reads.copy = flagged(SELLER, NOW + 0.001)

    # Then within the bound the old copy may still serve the token; at the bound it no longer does
    clock.now += 50
    assert watch.admits(SELLER, minted)
    clock.now += 10
    assert not watch.admits(SELLER, minted)


def test_an_unreadable_feed_lets_only_tokens_younger_than_the_bound_be_served(monkeypatch):
    recorded: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, **_: recorded.append(name))
    clock, reads = FakeClock(), Reads()
    reads.failing = True
    watch = RevocationWatch(reads, 60.0, clock)

    young = watch.admits(SELLER, NOW - watch.unverified_age)
    old = watch.admits(SELLER, NOW - watch.unverified_age - 0.1)

    assert (young, old) == (True, False)
    assert watch.unverified_age == 60 - 5 - CLOCK_MARGIN_SECONDS  # the bound, less the slack and the margin
    assert recorded == [names.METRIC_REVOCATION_FEED_UNAVAILABLE]  # one failed read, not one per check


def test_a_copy_that_goes_stale_while_the_table_is_down_stops_vouching_before_the_bound():
    clock, reads = FakeClock(), Reads()
    watch = RevocationWatch(reads, 60.0, clock)
    minted = NOW - 1
    assert watch.admits(SELLER, minted)
    reads.failing = True

    clock.now += 54.9
    within = watch.admits(SELLER, minted)
    clock.now += 0.1  # 55 s: the bound less 5 s kept for writing the flag and answering the caller

    assert within is True and watch.admits(SELLER, minted) is False


def test_a_failed_read_is_retried_within_the_bound_not_on_every_check():
    clock, reads = FakeClock(), Reads()
    reads.failing = True
    watch = RevocationWatch(reads, 10.0, clock)

    for _ in range(100):
        watch.admits(SELLER, NOW)
    clock.now += 10
    reads.failing = False
    watch.admits(SELLER, NOW)

    assert reads.count == 2


def test_a_token_minted_after_the_flag_is_served_although_the_entry_stays(monkeypatch):
    # Given a seller flagged and then re-authorized: its new token was minted after the entry's moment
    clock, reads = FakeClock(), Reads()
    reads.copy = flagged(SELLER, NOW - 30)
    watch = RevocationWatch(reads, 60.0, clock)

    # Then the new token is served for as long as the entry lives, bound after bound
    for _ in range(60):
        assert watch.admits(SELLER, NOW - 20)
        clock.now += 60


def test_checks_go_on_with_the_copy_while_one_thread_reads():
    clock, reads = FakeClock(), Reads()
    watch = RevocationWatch(reads, 60.0, clock)
    watch.admits(SELLER, NOW)
    clock.now += 54.5  # the re-read is due; the copy still vouches for half a second
    reading, release = threading.Event(), threading.Event()

    def slow_read() -> Feed:
        reading.set()
        release.wait(5)
        return Feed()

    watch._read = slow_read
    reader = threading.Thread(target=watch.admits, args=(SELLER, NOW))
    reader.start()
    reading.wait(5)
    try:
        served = [watch.admits(SELLER, NOW) for _ in range(100)]  # none of these waits for the reader
    finally:
        release.set()
        reader.join(5)

    assert served == [True] * 100
