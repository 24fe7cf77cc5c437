"""Logger, Tracer and Metrics, created once per process and shared by every handler (Powertools).

Powertools' Tracer loads the X-Ray SDK (with botocore and wrapt, ~180 ms) even when tracing is off. Where Powertools
would not trace - outside Lambda, under SAM local, or with POWERTOOLS_TRACE_DISABLED, as in the local cloud and the
tests - the tracer gets a provider that records nothing instead, and the SDK is never imported (ADR 0025). In Lambda
with tracing on, it is Powertools' own X-Ray tracer, as before.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

SERVICE = "orchestrator"


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Powertools' rule (Tracer._is_tracer_disabled): trace inside Lambda only, not under SAM local or Chalice, and
    not with POWERTOOLS_TRACE_DISABLED set to a true value."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "y", "yes", "t", "true", "on"):
        return False
    return bool(env.get("LAMBDA_TASK_ROOT")) and not (env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"))


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class Untraced(BaseProvider):
    """What a disabled X-Ray recorder does - open segments that record nothing - without importing it."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Sequence[str]) -> None: ...
    def patch_all(self) -> None: ...


logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE) if tracing_enabled() else Tracer(service=SERVICE, disabled=True, provider=Untraced())
metrics = Metrics(namespace="MultiCloudOrchestrator", service=SERVICE)

# Handlers that had nothing to count (most API calls) are normal, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
