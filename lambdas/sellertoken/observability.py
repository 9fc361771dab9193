"""The shared Logger, Tracer and Metrics singletons (Powertools)."""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sellertoken import names

logger = Logger(service=names.SERVICE_NAME)


@functools.cache
def tracer() -> Tracer:
    """The X-Ray tracer, made on first use: building it loads the X-Ray SDK (about 250 ms of cold start),
    which only the consent function, whose callback spans several AWS and LWA calls, pays for."""
    return Tracer(service=names.SERVICE_NAME)


metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE_NAME)


def count(metric: str, value: int = 1) -> None:
    """Add to a Count metric, flushed as EMF at the end of the invocation."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
