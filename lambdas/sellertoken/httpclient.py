"""HTTP sessions for Amazon (LWA and SP-API): pooled, with urllib3 retries on 429, 5xx and connection
errors only. Read timeouts are retried only where the request is idempotent in effect."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

TIMEOUT = (2.0, 5.0)  # connect, read (seconds)
RETRY_STATUSES = (429, 500, 502, 503, 504)


@functools.cache
def session(*, retry_reads: bool) -> requests.Session:
    # requests loads with the first call to Amazon, not at cold start: most invocations answer from a cache.
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=3,
        connect=3,
        read=3 if retry_reads else 0,
        status=3,
        other=0,
        backoff_factor=0.2,
        backoff_max=2.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=50)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def reset() -> None:
    session.cache_clear()
