"""Powertools Idempotency on Redis: a repeated invocation with the same key returns the first result.

Step tasks are keyed by (deployment, step): Step Functions may deliver a task twice, and a repeat must neither
apply again nor record a second attempt. Failures are not stored, so a Retry really runs again. Deployment
creation is keyed by the client's Idempotency-Key (the database's unique key stays the final guard).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer

from .domain.errors import LockBusy

F = TypeVar("F", bound=Callable[..., Any])
RESULT_TTL_SECONDS = 24 * 3600


@functools.lru_cache(maxsize=1)
def _store() -> CachePersistenceLayer:
    from .adapters.redis.client import get_redis

    return CachePersistenceLayer(client=get_redis())


def idempotent(key_path: str, *, data_keyword: str) -> Callable[[F], F]:
    """Make `fn(**{data_keyword: model})` idempotent on the JMESPath `key_path` of that model."""

    config = IdempotencyConfig(event_key_jmespath=key_path, expires_after_seconds=RESULT_TTL_SECONDS,
                               raise_on_no_idempotency_key=True)

    def decorate(fn: F) -> F:
        guarded: Callable[..., Any] | None = None

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            nonlocal guarded
            if guarded is None:  # built on first use: the Redis client needs the settings
                guarded = idempotent_function(data_keyword_argument=data_keyword, persistence_store=_store(),
                                              config=config)(fn)
            try:
                return guarded(**kwargs)
            except IdempotencyAlreadyInProgressError as exc:
                # The same request is running elsewhere: a transient, retried like a busy lock.
                raise LockBusy(f"the same request is already in progress ({type(exc).__name__})") from None

        # Handlers call `fn.config.register_lambda_context(context)`: an in-progress record then expires with
        # the invocation instead of blocking retries for the whole TTL.
        wrapper.config = config  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def once_per_step(operation: str) -> Callable[[F], F]:
    """For step tasks taking `task=` (a StepTaskInput); `operation` keeps apply and undo keys apart."""
    return idempotent(f"['{operation}', deployment_id, step_id]", data_keyword="task")
