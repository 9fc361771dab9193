"""The fleet's LWA budget (budget.py) in the broker's table on moto: several containers (LwaBudget objects)
share one rate, vends come before the sweep, a 429 pauses everyone, and a vend that cannot get a slot before
its deadline answers UpstreamUnavailable at once.

Time is a fake clock that waits advance (deadline.pause) instead of sleeping, except where a test says so.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import pytest

from devstack.awscalls import RECORDER
from sellertoken import budget, deadline, table
from sellertoken.budget import LwaBudget, LwaBudgetExhausted
from sellertoken.errors import UpstreamUnavailable, closed
from sellertoken.lwa import LwaThrottled
from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG


@dataclass
class FakeClock:
    """Wall time for the budget and the deadline's clock; a wait moves it on instead of sleeping."""

    now: float = field(default_factory=time.time)
    waits: list[float] = field(default_factory=list)

    def wall(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(seconds, 0.0)


def not_before(moment: float, limit: float) -> bool:
    """`moment` is `limit` or later; the table keeps times to the microsecond."""
    return moment >= limit - 1e-3


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(deadline, "clock", fake.wall)
    monkeypatch.setattr(deadline, "pause", fake.wait)
    return fake


@pytest.fixture
def container(aws, clock):
    """A new container's handle on the budget (its own memory, the one table) at `rate` calls per second."""
    from sellertoken import aws as clients

    def make(rate: float) -> LwaBudget:
        dynamodb = clients.client("dynamodb", SHARED_CACHE_BOTO_CONFIG)
        return LwaBudget(aws.seeded.table_name, dynamodb, rate, clock=clock.wall)

    return make


def test_calls_from_several_containers_are_spaced_one_interval_apart(container, clock):
    # Given three containers sharing a budget of 2 calls per second
    fleet = [container(2) for _ in range(3)]

    # When each asks for three calls, taking turns
    slots = []
    for _ in range(3):
        for member in fleet:
            member.acquire()
            slots.append(clock.now)

    # Then the nine calls go half a second apart, the first at once
    assert [round(b - a, 3) for a, b in itertools.pairwise(slots)] == [0.5] * 8
    assert clock.waits[0] == pytest.approx(0.5)


def test_a_vend_that_cannot_get_a_slot_before_its_deadline_is_refused_at_once(aws, container, clock):
    # Given a budget of 1 call per second whose next two seconds other containers have reserved
    take_budget(aws, until=clock.now + 2)

    # When a vend with 2.5 s left asks (its slot would leave it less than the call needs)
    with deadline.within(2.5), pytest.raises(LwaBudgetExhausted) as refused:
        container(1).acquire()

    # Then it is refused without waiting, as an UpstreamUnavailable for its caller
    assert clock.waits == []
    assert type(closed(refused.value)) is UpstreamUnavailable


def test_a_vend_whose_slot_leaves_no_time_to_look_for_a_pause_still_goes(aws, container, clock):
    # Given a slot 1.2 s away for a vend with 2.5 s left: after the wait, too little for one more AWS call
    take_budget(aws, until=clock.now + 1.2)

    # When it waits for it
    with deadline.within(2.5):
        container(1).acquire()

    # Then it goes at its slot instead of failing on the look for a pause
    assert clock.waits == [pytest.approx(1.2)]


def test_the_sweep_takes_no_slot_a_vend_reserved_and_waits_while_vends_use_the_budget(container, clock):
    # Given vends that reserved the next three seconds of a budget of 1 call per second
    start = clock.now
    vend = container(1)
    for _ in range(3):
        vend.acquire()

    # When the sweep asks
    container(1).acquire(background=True)

    # Then it went only once the slots the vends reserved were past
    assert not_before(clock.now, start + 3)


def test_a_429_pauses_every_container_for_lwas_retry_after(container, clock):
    # Given two containers, and LWA that throttles one call with Retry-After: 5
    first, second = container(10), container(10)
    answers = iter([LwaThrottled(5.0), "token"])

    def request() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # When the first calls (throttled, then served) and the second asks for a slot right after
    throttled_at = clock.now
    assert first.call(request) == "token"
    retried_at = clock.now
    second.acquire()

    # Then both went only after the pause
    assert not_before(retried_at, throttled_at + 5) and not_before(clock.now, throttled_at + 5)


def test_a_slot_taken_before_a_pause_is_taken_again_behind_it(container, clock, monkeypatch):
    # Given a container that holds a slot one second away
    waiting, throttled = container(1), container(1)
    throttled.acquire()  # takes the slot now; the next is in one second
    start = clock.now

    # When, while it sleeps, another container gets a 429 with Retry-After: 10
    sleep = clock.wait

    def sleep_through_a_429(seconds: float) -> None:
        monkeypatch.setattr(deadline, "pause", sleep)
        throttled.pause(10.0)
        sleep(seconds)

    monkeypatch.setattr(deadline, "pause", sleep_through_a_429)
    waiting.acquire()

    # Then it wakes, sees the pause over its slot, and goes after it
    assert not_before(clock.now, start + 10)


def test_lwa_answering_429_to_every_attempt_ends_in_upstream_unavailable(container, clock):
    calls = []

    def request() -> str:
        calls.append(clock.now)
        raise LwaThrottled(None)

    with pytest.raises(LwaThrottled) as failed:
        container(100).call(request)

    assert len(calls) == budget.THROTTLED_ATTEMPTS and type(closed(failed.value)) is UpstreamUnavailable
    # the pauses double from 0.2 s: 0.2, 0.4, 0.8 between the four attempts
    assert [round(b - a, 2) for a, b in itertools.pairwise(calls)] == [0.2, 0.4, 0.8]


def spacing(member: LwaBudget, clock: FakeClock, gaps: int) -> list[float]:
    """`gaps` gaps between consecutive slots this container takes, after its first gap: the first slot's write
    is where a container learns the fleet's pace from the table, and the gap after it was set by that write."""
    slots = []
    for _ in range(gaps + 2):
        member.acquire()
        slots.append(clock.now)
    return [round(b - a, 3) for a, b in itertools.pairwise(slots[1:])]


def test_after_a_429_every_container_slows_to_a_step_below_the_rate_and_recovers_when_lwa_stays_quiet(container, clock):
    # Given two containers at 10 calls per second, one of which LWA throttled once (no Retry-After)
    throttled, other = container(10), container(10)
    throttled.pause(0.2)
    clock.now += 1

    # When the other takes slots at once, and again after a quiet recovery period
    slowed = spacing(other, clock, 3)
    clock.now += budget.RECOVER_SECONDS
    recovered = spacing(other, clock, 3)

    # Then it spaced its calls one step slower (the fleet learned it from the table), then at the rate again
    assert slowed == [round(0.1 / budget.SLOW_STEP, 3)] * 3
    assert recovered == [0.1] * 3


def test_429s_in_one_burst_slow_the_fleet_one_step_and_a_later_one_another(container, clock):
    # Given a container at 10 calls per second
    member = container(10)

    # When LWA throttles three calls within one second, and then once more two seconds later
    for _ in range(3):
        member.pause(0.2)
    burst = spacing(container(10), clock, 1)
    clock.now += 2
    member.pause(0.2)
    clock.now += 1
    again = spacing(container(10), clock, 1)

    # Then the burst was one step down, the later 429 a second one
    assert burst == [round(0.1 / budget.SLOW_STEP, 3)]
    assert again == [round(0.1 / budget.SLOW_STEP**2, 3)]


def test_without_the_table_a_container_goes_on_alone_at_its_share_of_the_fleets_rate(aws, clock):
    # Given a fleet budget of 16 calls per second whose table this container cannot reach
    from sellertoken import aws as clients

    orphan = LwaBudget("no-such-table", clients.client("dynamodb", SHARED_CACHE_BOTO_CONFIG), 16, clock=clock.wall)

    # When it calls three times
    for _ in range(3):
        orphan.acquire()

    # Then it went on, alone, at an eighth of the rate (it cannot know its share): 2 per second
    assert budget.LOCAL_SHARE == 0.125
    assert clock.waits == [pytest.approx(0.5), pytest.approx(0.5)] and not orphan.available


def test_a_vend_this_container_knows_is_too_late_reads_no_grant_and_writes_nothing(authorize, aws, vend):
    # Given a budget other containers have taken for the next 100 s, which this container learned refusing a vend
    first, second = authorize(), authorize()
    take_budget(aws, until=time.time() + 100)
    with pytest.raises(UpstreamUnavailable):
        vend({"selling_partner_id": first, "region": "na"})
    start = len(RECORDER.calls)

    # When another grant is vended in the same container
    with pytest.raises(UpstreamUnavailable, match="LWA budget"):
        vend({"selling_partner_id": second, "region": "na"})

    # Then it is refused after the cache look-up and the lease, without reading the grant or taking a slot
    calls = sorted(c["operation"] for c in RECORDER.calls[start:])
    assert calls == ["DeleteItem", "GetItem", "PutItem"]


def test_a_vend_whose_slot_is_past_its_deadline_answers_upstream_unavailable_without_waiting(
    authorize, aws, vend, monkeypatch
):
    # Given a grant not in any cache, and a budget other containers have taken for the next 100 s
    seller = authorize()
    take_budget(aws, until=time.time() + 100)
    aws.amazon.reset_calls()
    waits: list[float] = []
    monkeypatch.setattr(deadline, "pause", waits.append)

    # When it is vended with the function's 30 s
    with pytest.raises(UpstreamUnavailable) as refused:
        vend({"selling_partner_id": seller, "region": "na"})

    # Then it answers without waiting for a slot, says why, and LWA was never asked
    assert waits == [] and "LWA budget" in str(refused.value) and type(refused.value) is UpstreamUnavailable
    assert aws.amazon.calls()["token.refresh_token"] == 0


def test_a_vend_waits_for_its_slot_when_it_comes_in_time(authorize, aws, vend, monkeypatch):
    # Given a budget whose next free slot is a moment away (the vend really sleeps until it)
    seller = authorize()
    take_budget(aws, until=time.time() + 0.3)
    waits: list[float] = []
    sleep = deadline.pause
    monkeypatch.setattr(deadline, "pause", lambda seconds: (waits.append(seconds), sleep(seconds)))

    # When it is vended
    answer = vend({"selling_partner_id": seller, "region": "na"})

    # Then it waited for its slot, and got its token
    assert answer["access_token"] and len(waits) == 1 and 0 < waits[0] <= 0.3


def take_budget(aws, *, until: float) -> float:
    """Other containers have reserved every LWA slot until `until`."""
    aws.clients["dynamodb"].put_item(
        TableName=aws.seeded.table_name,
        Item={**table.key(table.budget_key(0)), "tat": {"N": f"{until:.6f}"}},
    )
    return until


def test_a_vend_lwa_throttles_waits_out_its_retry_after_and_gets_its_token(authorize, aws, vend, monkeypatch):
    # Given LWA throttling at 1 request per second with Retry-After, and a grant refreshed a moment ago
    first, second = authorize(), authorize()
    aws.amazon.set_lwa_rate_limit(1, burst=1, retry_after=True)
    vend({"selling_partner_id": first, "region": "na"})
    waits: list[float] = []
    sleep = deadline.pause
    monkeypatch.setattr(deadline, "pause", lambda seconds: (waits.append(seconds), sleep(seconds)))

    # When another grant is vended in the same second (the budget's 50/s lets it go; LWA answers 429)
    answer = vend({"selling_partner_id": second, "region": "na"})

    # Then the vend waited the second LWA asked for (not urllib3's 0.2 s), and got its token on the next try
    assert answer["access_token"] and aws.amazon.calls()["token.throttled"] == 1
    assert waits and waits[-1] == pytest.approx(1.0, abs=0.05)
