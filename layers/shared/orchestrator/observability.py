"""Logger, Tracer and Metrics, created once per process and shared by every handler (Powertools)."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "orchestrator"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="MultiCloudOrchestrator", service=SERVICE)

# Handlers that had nothing to count (most API calls) are normal, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
