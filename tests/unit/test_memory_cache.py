"""The container's memory cache: per-key single flight whose lock map stays bounded however many keys pass."""

from __future__ import annotations

import threading
import time

from sellertoken.tokencache import CachedToken, MemoryCache


def token(name: str = "Atza|t") -> CachedToken:
    return CachedToken(name, time.time() + 3600, minted_at=time.time())


def test_the_lock_map_holds_no_entry_for_keys_nobody_is_refreshing():
    # Given a container that has refreshed 10,000 different keys, one after the other
    cache = MemoryCache()
    for i in range(10_000):
        key = ("client", "na", f"A{i:013d}", "access")
        with cache.lock(key):
            cache.put(key, token())

    # Then no lock outlives its holders: the map is empty, not one entry per key ever seen
    assert len(cache._locks) == 0


def test_concurrent_misses_for_one_key_fetch_once_and_leave_no_lock_behind():
    # Given 20 threads that miss the same key at the same moment
    cache = MemoryCache()
    key = ("client", "na", "A1B2C3D4E5F6G7", "access")
    fetches: list[int] = []
    barrier = threading.Barrier(20)
    inside = threading.Event()

    def one() -> None:
        barrier.wait()
        with cache.lock(key):
            if cache.get(key, 0) is None:
                inside.set()
                fetches.append(1)
                time.sleep(0.05)  # a refresh in flight: the others queue on this key's lock
                cache.put(key, token())

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then exactly one of them fetched (single flight), and the lock map is empty again
    assert inside.is_set() and len(fetches) == 1
    assert len(cache._locks) == 0


def test_a_waiter_that_gives_up_leaves_no_lock_behind():
    # Given a key whose lock is held by a refresh in flight
    cache = MemoryCache()
    key = ("client", "na", "A1B2C3D4E5F6G7", "access")
    holder = cache.lock(key)
    holder.acquire()

    # When another caller waits with a deadline and gives up
    waiter = cache.lock(key)
    acquired = waiter.acquire(timeout=0.01)
    holder.release()

    # Then it did not get the lock, and once the holder is done nothing stays in the map
    assert acquired is False
    assert len(cache._locks) == 0


def test_two_keys_never_share_a_lock():
    # Given one key's lock held by a slow refresh
    cache = MemoryCache()
    slow = cache.lock(("client", "na", "A0000000000001", "access"))
    slow.acquire()

    # When another key is refreshed meanwhile, Then it does not wait for the first one
    try:
        assert cache.lock(("client", "na", "A0000000000002", "access")).acquire(timeout=0.5) is True
    finally:
        slow.release()
