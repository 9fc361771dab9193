"""Percentiles and the formatting of figures."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def p50(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def p99(samples: Sequence[float]) -> float:
    return percentile(samples, 99)


def timed(call: Callable[[], object], count: int, after: Callable[[], object] | None = None) -> list[float]:
    """Seconds taken by each of `count` calls (`after` runs untimed after each one)."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        call()
        samples.append((clock() - start) / 1e9)
        if after is not None:
            after()
    return samples


def ms(seconds: float, digits: int | None = None) -> str:
    value = seconds * 1000
    if digits is None:
        digits = 3 if value < 1 else 2 if value < 10 else 1 if value < 1000 else 0
    return f"{value:,.{digits}f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def secs(seconds: float) -> str:
    return f"{seconds:,.1f} s" if seconds < 100 else f"{seconds:,.0f} s"


def spread(samples: Sequence[float], unit: Callable[[float], str] = ms) -> str:
    return f"p50 {unit(p50(samples))}, p99 {unit(p99(samples))} (n={len(samples):,})"
