"""R. LWA client-secret rotation under load: containers vend without pause while Amazon's clock walks the app's
secret through two rotations and past both overlaps, with a sweep in the middle.

Vend containers are processes (spawn) of `threads` concurrent invocations each (`handlers.vend.answer`, as the
handler runs it), each asking for seller access tokens and grantless tokens with
min_ttl_seconds 3300 while the simulator's tokens live 3310 s, so that every token is refreshed at LWA about
every 10 s: LWA sees the app's secret all the time. The rotation function runs in this process, fed by the
notification queue as Lambda's event source mapping feeds it, deciding in the simulator's time.

The walk: 5-day steps to day 91 (Amazon's first expiry notice: the broker rotates), a hold of `hold` seconds
with the clock still (every container must take up the new secret while the old one still works: the figure
is the last use of the old one after the new one was stored) during which a sweep checks every grant, 1-day
steps past the first overlap's end, 5-day steps to day 181 (the new secret's first notice: a second rotation),
then at once past its overlap's end, without a hold, so that containers still hold the old secret when it
stops working: LWA answers them invalid_client, and they re-read the app secret at once; then 1-day steps.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.world import World
from sellertoken import names

NAME = "rotation"
TITLE = "R. LWA client-secret rotation under load: two rotations, their overlaps' ends and a sweep"
# With min_ttl_seconds 3300 a token serves for 10 s, so LWA is called all the time; the margin is wide enough
# that a refresh slowed by a loaded machine still brings a token that meets min_ttl_seconds.
TOKEN_TTL = 3310
MIN_TTL = 3300
STEP_DELAY = 0.05


@dataclass
class Walk:
    vends: Counter = field(default_factory=Counter)  # by kind
    failures: Counter = field(default_factory=Counter)  # by errorType
    lwa: dict[str, int] = field(default_factory=dict)  # the simulator's counters over the walk
    rotations_stored: int = 0
    pickup_seconds: float = 0.0  # last use of the old secret after the new one was stored (the hold)
    sweep: dict = field(default_factory=dict)
    revoked: int = 0
    seconds: float = 0.0


def walk(world: World, *, sellers: int, processes: int, threads: int, max_age: float, hold: float) -> Walk:
    """Run the walk against `world`, whose environment this process must already have (os.environ)."""
    from devstack.eventsource import QueueEventSource
    from devstack.lambda_context import LocalLambdaContext, invoke
    from sellertoken import appcreds, rotation

    amazon = world.amazon
    amazon.world.access_token_ttl_seconds = TOKEN_TTL
    # This process runs the rotation function and the sweep: the same cache age as the vend containers.
    saved_max_age, appcreds.MAX_AGE_SECONDS = appcreds.MAX_AGE_SECONDS, max_age
    queue_url = world.env[names.ENV_NOTIFICATION_QUEUE_URL]
    amazon.register_notification_queue(queue_url)
    rotation.clock = amazon.now
    ids = [seller for seller, _ in world.create_grants(sellers)]
    handler = __import__("handlers.rotation", fromlist=["handler"]).handler
    function = names.function_name("rotation")
    source = QueueEventSource(
        _sqs(world), queue_url, function, lambda event: invoke(handler, event, LocalLambdaContext(function))
    )
    source.start()
    stop = child.CTX.Event()
    group = child.Group(_vend_until, world.env, [(stop, ids, threads, max_age, i) for i in range(processes)]).start()
    result = Walk()
    started = time.monotonic()
    amazon.reset_calls()
    try:
        time.sleep(1.0)  # the containers start
        _advance(amazon, days=91, step=5)
        stored_at = _wait_stored(world, amazon)
        result.rotations_stored += 1
        sweeper = threading.Thread(target=lambda: result.sweep.update(_sweep()))
        sweeper.start()
        result.pickup_seconds = _last_old_use_after(amazon, stored_at, hold)
        sweeper.join()
        _advance(amazon, days=9, step=1)
        _advance(amazon, days=81, step=5)
        _wait_stored(world, amazon)
        result.rotations_stored += 1
        amazon.advance_days(8)  # the overlap ends at once: containers still hold the old secret
        _advance(amazon, days=11, step=1)
        time.sleep(1.0)  # a last round of refreshes with the newest secret only
    finally:
        stop.set()
        counts = group.collect(timeout=120)
        source.stop()
        appcreds.MAX_AGE_SECONDS = saved_max_age
    result.seconds = time.monotonic() - started
    for vends, failures in counts:
        result.vends.update(vends)
        result.failures.update(failures)
    result.lwa = amazon.calls()
    result.revoked = sum(1 for seller in ids if _status(world, seller) == names.STATUS_REVOKED)
    return result


def run(*, quick: bool = False) -> Section:
    sellers, processes, threads = (8, 2, 3) if quick else (60, 3, 4)
    with World() as world:
        saved = dict(os.environ)
        os.environ.update(world.env)
        try:
            got = walk(world, sellers=sellers, processes=processes, threads=threads, max_age=2.0, hold=3.0)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    failed = sum(got.failures.values())
    lwa = got.lwa
    rows = [
        Row(
            f"vends across the walk ({processes} containers x {threads} concurrent invocations, {sellers} sellers)",
            f"{sum(got.vends.values())} ({', '.join(f'{k} {v}' for k, v in sorted(got.vends.items()))}) "
            f"in {got.seconds:.1f} s",
        ),
        Row(
            "failed vends",
            f"{failed}" + (f" ({'; '.join(f'{n} x {k}' for k, n in got.failures.items())})" if failed else ""),
            "0",
            failed == 0,
        ),
        Row("grants flagged revoked", str(got.revoked), "0", got.revoked == 0),
        Row(
            "rotations: Amazon's rotateApplicationClientSecret calls, new secrets stored",
            f"{lwa['applications.rotateApplicationClientSecret']} calls, {got.rotations_stored} stored",
            "2 and 2",
            lwa["applications.rotateApplicationClientSecret"] == 2 and got.rotations_stored == 2,
        ),
        Row(
            "LWA token requests; answered invalid_client; authenticated with a replaced secret inside its overlap",
            f"{lwa['token.refresh_token'] + lwa['token.client_credentials']}; {lwa['token.invalid_client']}; "
            f"{lwa['token.replaced_secret']}",
        ),
        Row(
            "new secret stored → last LWA request with the old one, by any function: vend containers, sweep, "
            "rotation (app-secret cache age 2 s)",
            f"{got.pickup_seconds:.2f} s",
            "≤ cache age + 1 s",
            got.pickup_seconds <= 3.0,
        ),
        Row(
            "sweep run during the first overlap",
            f"{got.sweep.get('outcome')}: {got.sweep.get('counts')}",
            "completed, none revoked",
            got.sweep.get("outcome") == "completed" and not got.sweep.get("counts", {}).get("revoked"),
        ),
    ]
    notes = [
        "No Restricted Data Tokens: the walk moves Amazon's clock 5 days every 50 ms, so an access token minted "
        "a moment before a step is days old at SP-API after it; an RDT request would measure that artifact of "
        "simulated time, not the rotation (LWA, which the secret concerns, is asked for every kind of token).",
        "Deployed, the app-secret cache age is appcreds.MAX_AGE_SECONDS = 300 s: every function takes up a new "
        "secret within 5 minutes of its storing, and at once after LWA refuses the one it holds; Amazon keeps the "
        "old one working for 7 days. The benchmark sets the age to 2 s to see the take-up in real time.",
        "invalid_client answers come from containers still holding the old secret when its overlap ends (the "
        "second rotation has no hold): each one re-reads the app secret and retries with the new secret, so the "
        "vend succeeds.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _advance(amazon, *, days: int, step: int) -> None:
    for _ in range(days // step):
        amazon.advance_days(step)
        time.sleep(STEP_DELAY)


def _wait_stored(world: World, amazon, timeout: float = 20.0) -> float:
    """Until the app secret holds Amazon's current secret; when that was seen (monotonic)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sellertoken import appcreds

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if appcreds.read(names.DEFAULT_PREFIX).credentials.client_secret == amazon.client_secret:
                return time.monotonic()
        except (BotoCoreError, ClientError):  # moto slow on a loaded machine: look again
            pass
        time.sleep(0.02)
    raise TimeoutError("the new client secret was not stored")


def _last_old_use_after(amazon, stored_at: float, hold: float) -> float:
    """Hold the clock for `hold` s; the time after `stored_at` of the last LWA request made with the old secret."""
    last_seen, last_count = stored_at, amazon.calls()["token.replaced_secret"]
    end = time.monotonic() + hold
    while time.monotonic() < end:
        count = amazon.calls()["token.replaced_secret"]
        if count != last_count:
            last_seen, last_count = time.monotonic(), count
        time.sleep(0.02)
    return last_seen - stored_at


def _sweep() -> dict:
    from devstack.lambda_context import LocalLambdaContext, invoke
    from handlers import sweep

    # A full sweep: every grant is refreshed at LWA during the overlap (a scheduled one would count the vends'
    # refreshes as its checks and might not ask LWA at all, README "LWA at fleet scale").
    event = {"run_id": "during-rotation", "full": True}
    return invoke(sweep.handler, event, LocalLambdaContext(names.function_name("sweep"), 900))


def _status(world: World, seller: str) -> str:
    from sellertoken import grants

    return grants.load(names.DEFAULT_PREFIX, "na", seller).status


def _sqs(world: World):
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=names.LOCAL_AWS_REGION
    ).client("sqs", endpoint_url=world.aws_url)


def _vend_until(stop, sellers: list[str], threads: int, max_age: float, index: int) -> tuple[Counter, Counter]:
    """One container: `threads` concurrent invocations vending until `stop`; (vends by kind, failures by type)."""
    import random

    from sellertoken import appcreds, deadline

    appcreds.MAX_AGE_SECONDS = max_age
    from handlers import vend

    rng = random.Random(index)
    vends, failures = Counter(), Counter()
    lock = threading.Lock()

    def invocation() -> None:
        while not stop.is_set():
            seller, roll = rng.choice(sellers), rng.random()
            if roll < 0.2:
                kind, payload = "grantless", {"scope": "sellingpartnerapi::notifications", "min_ttl_seconds": MIN_TTL}
            else:
                kind = "access"
                payload = {"selling_partner_id": seller, "region": "na", "min_ttl_seconds": MIN_TTL}
            try:
                with deadline.within(30.0):
                    vend.answer(payload)
                outcome = None
            except Exception as error:  # noqa: BLE001 - counted by the contract's errorType, with its message
                outcome = f"{getattr(error, 'error_type', type(error).__name__)}: {str(error)[:120]}"
            with lock:
                vends[kind] += 1
                if outcome:
                    failures[outcome] += 1

    workers = [threading.Thread(target=invocation) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return vends, failures
