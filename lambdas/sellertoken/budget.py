"""The fleet's LWA budget: one limit on LWA calls per second shared by every container, vends first.

Amazon publishes no rate limit for LWA's token endpoint and answers 429 above it (reference §2): a cold
shared cache (first deploy, a restored table, a morning rush) would otherwise send one refresh per grant at
once from every container. The budget is virtual scheduling (GCRA, ITU-T I.371) in the broker's table: an
item holds `tat`, the moment the next call may go; a call takes the slot at max(tat, now) and moves tat one
interval on, in one conditional UpdateItem, and sleeps until its slot. Nobody polls, and a slot that no
longer fits before the caller's deadline is refused at once, so a vend that cannot be served in time answers
UpstreamUnavailable right away instead of at its timeout.

- Vends (and grantless tokens) reserve the next slot as long as it leaves them time for the call.
- The sweep takes a slot only when none is reserved ahead (tat ≤ now): it never queues in front of a vend;
  while vends use the budget it waits (until the tat it saw), within its own time.
- A 429 pushes every shard's tat and `paused_until` past LWA's Retry-After (or a back-off doubling from
  0.2 s, as httpclient's retries do): new calls queue behind the pause, and a call that reserved a slot
  inside it finds the pause when it wakes and queues again.
- A 429 also slows the fleet one step (SLOW_STEP of the rate; the 429s of one burst are one step), and each
  quiet RECOVER_SECONDS take a step back (additive increase, multiplicative decrease, as TCP does): LWA's
  limit is not published, and a budget set at or above it would otherwise meet it again and again, since a
  token bucket drained by one clump of calls never refills while the calls keep coming at its exact rate.
  Every container learns the step from the item it writes next.
- A container remembers the latest tat it saw (tat only moves forward): once it knows no slot comes before a
  vend's deadline, it refuses the next ones without a write (`check`, before the vend reads the grant).
- The table is optional here as it is for the token cache (tokencache.py): when it does not answer, this
  container goes on alone for a few seconds at an eighth of the fleet's rate (it cannot know its share),
  behind the slots and any pause it knows of, counted as SharedCacheUnavailable, rather than stop vending or
  call LWA unpaced.

The items, in one place:
  lwa#budget#{shard}  tat (N), paused_until (N): epoch seconds on the writers' clocks; both only move forward.
                      slow_level (N), slow_at (N): the steps down the last 429 left, and when.
One item takes the calls of at most SHARD_RATE per second, each costing one write (two when the budget was
idle, one read more after a wait): far below the 1,000 write units per second DynamoDB allows one partition
(developerguide/warm-throughput-scenarios.html; a hot item gets a partition of its own, but never more:
burst-adaptive-capacity.html). A larger rate is split over more items, each with its share of the rate.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from sellertoken import deadline, names, table
from sellertoken.errors import UpstreamUnavailable
from sellertoken.lwa import LwaThrottled
from sellertoken.observability import count

T = TypeVar("T")

KEY_PREFIX = table.BUDGET_PREFIX
SHARD_RATE = 200.0  # calls per second one item takes (1-2 writes each, far below an item's ~1,000 WCU/s)
NEEDED_SECONDS = 1.0  # a slot later than the deadline less this leaves no time for the call itself
MAX_WAIT_SECONDS = 900.0  # outside an invocation (no deadline) a call queues at most a Lambda's longest run
THROTTLED_ATTEMPTS = 4  # a call and three more after 429s, as urllib3 retries other failures
THROTTLED_BACKOFF = 0.2  # the first pause after a 429 without Retry-After, doubled each time (httpclient's)
MAX_PAUSE_SECONDS = 60.0  # a longer Retry-After is cut to this: the callers' deadlines are shorter anyway
# Without the table a container cannot know its share of the rate: it takes this much of it. At the fleet's whole
# rate, a table every container loses at once (or one too slow to answer) made each send the fleet's budget:
# measured in a cold rush of 800 grants (BENCHMARKS.md A8's setup), 429s on 12 % of LWA's requests, 99 of the
# 109 from containers pacing alone; 12 429s at an eighth.
LOCAL_SHARE = 0.125
_UNAVAILABLE_COOLDOWN = 5.0  # after the table failed, pace this container alone this long (then try it again)
_RACES = 8  # conditional writes lost to other containers before a shard counts as taken
_EPSILON = 0.001  # seconds: times travel as 6-decimal numbers; a slot at the pause's end is after it
SLOW_STEP = 0.9  # after a 429 the fleet calls at this share of its current pace
RECOVER_SECONDS = 30.0  # each quiet period this long takes one step back towards the configured rate
MAX_SLOW_LEVEL = 20  # 0.9**20: about an eighth of the rate at the slowest
_STEP_GAP = 1.0  # 429s closer together than this are one burst: one step
# "Now" on the timeline every container shares (epoch seconds); tests that make deadline.pause move time
# instead of sleeping move this with it.
wall = time.time


class LwaBudgetExhausted(UpstreamUnavailable):
    """No LWA slot before the caller's deadline. Reaches a vend's caller as UpstreamUnavailable."""


@dataclass(frozen=True)
class Slot:
    at: float  # epoch seconds
    shard: int
    taken: bool = True  # False: nothing was free; wait until `at` and try again (the sweep)


class LwaBudget:
    """This container's handle on the fleet's budget of `rate_per_second` LWA calls."""

    def __init__(
        self,
        table_name: str,
        client,
        rate_per_second: float,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.table_name = table_name
        self.rate = rate_per_second
        self.shards = max(1, math.ceil(rate_per_second / SHARD_RATE))
        self.interval = self.shards / rate_per_second  # between two slots of one shard, at the full rate
        self._clock = clock  # None: budget.wall, read at each use
        self._client = client
        self._seen = [0.0] * self.shards  # the latest tat seen per shard: tat never moves back
        self._paused_until = 0.0
        self._local_tat = 0.0  # this container's own pace while the table does not answer
        self._slow = (0, 0.0)  # (slow_level, slow_at): the latest step down this container saw
        self._down_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, table_name: str, client, rate_per_second: float) -> LwaBudget | None:
        """The budget, or None when the configured rate is 0 (no fleet-wide budget)."""
        return cls(table_name, client, rate_per_second) if rate_per_second > 0 else None

    def call(self, request: Callable[[], T], *, background: bool = False) -> T:
        """Run one LWA request within the budget; after a 429, pause the fleet and try again."""
        for attempt in range(THROTTLED_ATTEMPTS):
            self.acquire(background=background)
            try:
                return request()
            except LwaThrottled as throttled:
                count(names.METRIC_LWA_THROTTLED)
                wait = throttled.retry_after
                self.pause(THROTTLED_BACKOFF * 2**attempt if wait is None else wait)
                if attempt == THROTTLED_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def acquire(self, *, background: bool = False) -> None:
        """Wait for this container's turn to call LWA; LwaBudgetExhausted when it would come too late."""
        while True:
            slot = self._slot(background)
            if slot is None:
                return
            wait = slot.at - self._now()
            if wait > 0:
                # A sweep thread that waits for a free slot wakes at a random point of one interval, so that
                # several do not all try the same instant (jitter only: nothing secret).
                deadline.pause(wait + (random.uniform(0, self.interval) if not slot.taken else 0.0))  # noqa: S311
            if not slot.taken:
                continue
            if wait <= 0 or not self._paused_over(slot):
                return

    def check(self) -> None:
        """Refuse at once, without I/O, when this container already knows that no slot comes before the
        caller's deadline: every shard's tat (which only moves forward) or a pause is past it."""
        latest = self._latest(self._now())
        with self._lock:
            known = max(min(self._seen), self._paused_until)
        if known > latest:
            count(names.METRIC_LWA_BUDGET_EXHAUSTED)
            raise LwaBudgetExhausted("the fleet's LWA budget has no free slot before this invocation's deadline")

    def pause(self, seconds: float) -> None:
        """LWA answered 429: no container calls it before `seconds` from now."""
        now = self._now()
        until = now + min(max(seconds, 0.0), MAX_PAUSE_SECONDS)
        with self._lock:
            self._paused_until = max(self._paused_until, until)
            _, at = self._slow
            if now - at >= _STEP_GAP:  # a 429 of a burst this container already stepped for changes nothing
                self._slow = (min(self._level(now) + 1, MAX_SLOW_LEVEL), now)
            slow = self._slow
        if not self.available:
            return
        try:
            for shard in range(self.shards):
                self._push(shard, until)
                self._step_down(shard, slow)
        except (ClientError, BotoCoreError) as error:
            self._unavailable(error)

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    # -- slots -------------------------------------------------------------------------------------

    def _slot(self, background: bool) -> Slot | None:
        """The slot taken (or, for the sweep, when to look again); None: go without the budget."""
        now = self._now()
        latest = self._latest(now)
        if not self.available:
            return self._local_slot(now, latest)
        shards = list(range(self.shards))
        random.shuffle(shards)  # spreads callers over the shards
        try:
            return self._free(shards, now, latest) if background else self._reserve(shards, now, latest)
        except (ClientError, BotoCoreError) as error:
            self._unavailable(error)
            return self._local_slot(now, latest)

    def _reserve(self, shards: list[int], now: float, latest: float) -> Slot:
        for shard in shards:
            if self._seen[shard] > latest:
                continue  # known to be taken past our deadline: no write needed to learn it again
            slot = self._reserve_on(shard, now, latest)
            if slot is not None:
                return slot
        count(names.METRIC_LWA_BUDGET_EXHAUSTED)
        raise LwaBudgetExhausted("the fleet's LWA budget has no free slot before this invocation's deadline")

    def _reserve_on(self, shard: int, now: float, latest: float) -> Slot | None:
        for _ in range(_RACES):
            interval = self._interval(now)
            try:  # queue behind the calls already reserved, if that is still in time
                answer = self._update(
                    shard,
                    "SET tat = tat + :i",
                    "tat BETWEEN :now AND :latest",
                    {":i": _n(interval), ":now": _n(now), ":latest": _n(latest)},
                    ReturnValues="ALL_NEW",
                )
                tat = self._saw(shard, answer["Attributes"])
                return Slot(tat - interval, shard)
            except _Taken as taken:
                if self._saw(shard, taken.item) > latest:
                    return None
            try:  # nothing reserved ahead: the slot is now
                self._take_now(shard, now, "attribute_not_exists(tat) OR tat < :now")
                return Slot(now, shard)
            except _Taken as taken:
                if self._saw(shard, taken.item) > latest:
                    return None
        return None

    def _free(self, shards: list[int], now: float, latest: float) -> Slot:
        """The sweep's slot: one nobody reserved, now; else when to look again."""
        for shard in shards:
            if self._seen[shard] > now:
                continue
            try:
                self._take_now(shard, now, "attribute_not_exists(tat) OR tat <= :now")
                return Slot(now, shard)
            except _Taken as taken:
                self._saw(shard, taken.item)
        soonest = min(self._seen[shard] for shard in shards)
        if soonest > latest:
            count(names.METRIC_LWA_BUDGET_EXHAUSTED)
            raise LwaBudgetExhausted("vends use the fleet's LWA budget past this invocation's deadline")
        return Slot(max(soonest, now), -1, taken=False)

    def _local_slot(self, now: float, latest: float) -> Slot:
        """Without the table: this container alone at LOCAL_SHARE of the fleet's rate, behind the slots it knows
        the fleet reserved and any pause it knows of."""
        interval = self._interval(now) / self.shards / LOCAL_SHARE
        with self._lock:
            at = max(now, self._paused_until, self._local_tat, max(self._seen))
            if at > latest:
                count(names.METRIC_LWA_BUDGET_EXHAUSTED)
                raise LwaBudgetExhausted("no LWA slot before this invocation's deadline (the budget's table is down)")
            self._local_tat = at + interval
        return Slot(at, -1)

    def _paused_over(self, slot: Slot) -> bool:
        """Did a 429 pause the fleet over this slot after it was taken? Then it must be taken again."""
        with self._lock:
            if self._paused_until > slot.at + _EPSILON:
                return True
        if slot.shard < 0 or not self.available:
            return False
        try:
            item = self._client.get_item(
                TableName=self.table_name,
                Key=_key(slot.shard),
                ConsistentRead=True,
                ProjectionExpression="paused_until, slow_level, slow_at",
            ).get("Item", {})
        except (ClientError, BotoCoreError) as error:
            self._unavailable(error)
            return False
        except UpstreamUnavailable:
            return False  # no time left for the look (aws.py): the slot is ours, use it
        self._saw(slot.shard, item)
        with self._lock:
            return self._paused_until > slot.at + _EPSILON

    def _push(self, shard: int, until: float) -> None:
        values = {":until": _n(until)}
        try:
            self._update(
                shard, "SET tat = :until, paused_until = :until", "attribute_not_exists(tat) OR tat < :until", values
            )
            return
        except _Taken:
            pass  # calls are reserved past the pause already: they stay where they are
        longer = "attribute_not_exists(paused_until) OR paused_until < :until"
        try:
            self._update(shard, "SET paused_until = :until", longer, values)
        except _Taken:
            pass  # a longer pause is set already

    # -- plumbing ----------------------------------------------------------------------------------

    def _step_down(self, shard: int, slow: tuple[int, float]) -> None:
        """Tell the fleet of this container's step down, unless another container stepped for this burst."""
        level, at = slow
        try:
            self._update(
                shard,
                "SET slow_level = :level, slow_at = :at",
                "attribute_not_exists(slow_at) OR slow_at < :burst",
                {":level": {"N": str(level)}, ":at": _n(at), ":burst": _n(at - _STEP_GAP)},
            )
        except _Taken as taken:
            self._saw(shard, taken.item)

    def _take_now(self, shard: int, now: float, condition: str) -> None:
        answer = self._update(
            shard,
            "SET tat = :next",
            condition,
            {":next": _n(now + self._interval(now)), ":now": _n(now)},
            ReturnValues="ALL_NEW",
        )
        self._saw(shard, answer["Attributes"])

    def _interval(self, now: float) -> float:
        """Between two slots of one shard, at the pace the fleet's latest 429 left."""
        with self._lock:
            return self.interval / SLOW_STEP ** self._level(now)

    def _level(self, now: float) -> int:
        """The steps down still in force: one fewer for each quiet RECOVER_SECONDS since the last (lock held)."""
        level, at = self._slow
        return max(0, level - int((now - at) // RECOVER_SECONDS))

    def _update(self, shard: int, expression: str, condition: str, values: dict, **options) -> dict:
        try:
            return self._client.update_item(
                TableName=self.table_name,
                Key=_key(shard),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **options,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise _Taken(exc.response.get("Item") or {}) from None

    def _latest(self, now: float) -> float:
        """The last moment a slot is of use: the deadline, less the time the call needs."""
        return now + min(deadline.current().remaining(), MAX_WAIT_SECONDS) - NEEDED_SECONDS

    def _now(self) -> float:
        return self._clock() if self._clock is not None else wall()

    def _saw(self, shard: int, item: dict) -> float:
        """Learn what a budget item says (its tat, a pause, a step down); returns the latest tat known."""
        with self._lock:
            if "tat" in item:
                self._seen[shard] = max(self._seen[shard], float(item["tat"]["N"]))
            if "paused_until" in item:
                self._paused_until = max(self._paused_until, float(item["paused_until"]["N"]))
            if "slow_at" in item and float(item["slow_at"]["N"]) > self._slow[1]:
                self._slow = (int(item.get("slow_level", {"N": "0"})["N"]), float(item["slow_at"]["N"]))
            return self._seen[shard]

    def _unavailable(self, error: Exception) -> None:
        self._down_until = time.monotonic() + _UNAVAILABLE_COOLDOWN
        count(names.METRIC_SHARED_CACHE_UNAVAILABLE)


class _Taken(Exception):
    """The conditional write lost: `item` is what it met ({} when there was no item yet)."""

    def __init__(self, item: dict) -> None:
        super().__init__()
        self.item = item


def _key(shard: int) -> dict:
    return table.key(table.budget_key(shard))


def _n(seconds: float) -> dict:
    return {"N": f"{seconds:.6f}"}
