"""The shared Logger, Tracer and Metrics singletons (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from sellertoken import names

logger = Logger(service=names.SERVICE_NAME)
tracer = Tracer(service=names.SERVICE_NAME)
metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE_NAME)
