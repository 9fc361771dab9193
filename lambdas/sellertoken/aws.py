"""Lazily created, reused boto3 clients (never at import, so tests and the local stack can point them
elsewhere through AWS_ENDPOINT_URL before first use)."""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config as BotoConfig

_BOTO_CONFIG = BotoConfig(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=50,
)


@functools.cache
def client(service: str, config: BotoConfig | None = None):
    """A client per (service, config): callers that must fail fast pass their own timeouts."""
    return boto3.session.Session().client(service, config=config or _BOTO_CONFIG)


def reset() -> None:
    """Forget every client (tests, and the local stack after it changes endpoints)."""
    client.cache_clear()
