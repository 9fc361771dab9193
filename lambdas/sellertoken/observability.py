"""The shared Logger, Tracer and Metrics singletons (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sellertoken import names

logger = Logger(service=names.SERVICE_NAME)
tracer = Tracer(service=names.SERVICE_NAME)
metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE_NAME)


def count(metric: str, value: int = 1) -> None:
    """Add to a Count metric, flushed as EMF at the end of the invocation."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
