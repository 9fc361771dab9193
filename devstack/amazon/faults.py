"""Injected faults: an endpoint made slow, failing or hanging by a test or an operator.

Not Amazon behaviour: a switch. What a failing answer looks like is each concern's business
(lwa.py, spapi.py, consent.py); this module only decides whether and when an endpoint fails.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_ENDPOINTS = frozenset({"token", "sellers", "rdt", "consent"})
HANG_SECONDS = 30.0


@dataclass(slots=True)
class _Fault:
    latency_ms: int
    status: int | None
    hang: bool
    remaining: int | None
    cleared: threading.Event
    error: str | None = None


class Faults:
    def __init__(self, lock: threading.Lock, stopping: threading.Event) -> None:
        self._lock = lock
        self._stopping = stopping
        self._faults: dict[str, _Fault] = {}
        self._cleared = {endpoint: threading.Event() for endpoint in FAULT_ENDPOINTS}

    def clear_all(self) -> None:
        """Drop every fault. Caller holds the lock. Setting an endpoint's event releases every request
        hanging on a fault of that endpoint, including faults already used up by `count`."""
        for event in self._cleared.values():
            event.set()
        self._cleared = {endpoint: threading.Event() for endpoint in FAULT_ENDPOINTS}
        self._faults.clear()

    def set(
        self,
        endpoint: str,
        *,
        latency_ms: int = 0,
        status: int | None = None,
        hang: bool = False,
        count: int | None = None,
        error: str | None = None,
    ) -> None:
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {sorted(FAULT_ENDPOINTS)}")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or None")
        if error is not None and (status is None or not isinstance(error, str) or not 0 < len(error) <= 200):
            raise ValueError("error must be a short string, given with a status")
        with self._lock:
            self._faults.pop(endpoint, None)
            self._cleared[endpoint].set()
            cleared = self._cleared[endpoint] = threading.Event()
            if latency_ms or status is not None or hang:
                self._faults[endpoint] = _Fault(latency_ms, status, bool(hang), count, cleared, error)

    def answer(self, endpoint: str) -> tuple[int | None, str | None]:
        """Applies the endpoint's fault (latency, hang); returns the status to answer with and its error."""
        with self._lock:
            fault = self._faults.get(endpoint)
            if fault is None:
                return None, None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[endpoint]
        if fault.latency_ms and fault.cleared.wait(fault.latency_ms / 1000):
            return None, None
        if fault.hang and fault.cleared.wait(HANG_SECONDS):
            return (503, None) if self._stopping.is_set() else (None, None)
        return fault.status, fault.error
