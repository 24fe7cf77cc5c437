"""Powertools Idempotency on Redis: a repeated invocation with the same key returns the first result.

Step tasks are keyed by (deployment, step): Step Functions may deliver a task twice, and a repeat must neither
apply again nor record a second attempt. Failures are not stored, so a Retry really runs again.

API requests: every authenticated POST with an `Idempotency-Key` header is keyed by (caller, method and path, key),
so one user's key never answers another user's request; the stored response is replayed with
`Idempotent-Replayed: true`, and the same key with another body is refused. Deployment creation also keeps the
database's unique key as the final guard.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.idempotency import idempotent_function

from .domain.errors import IdempotencyKeyReused, LockBusy, LockStoreUnavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

F = TypeVar("F", bound=Callable[..., Any])
RESULT_TTL_SECONDS = 24 * 3600
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotent(key_path: str, *, data_keyword: str, payload_path: str | None = None,
               response_hook: Callable[[Any, DataRecord], Any] | None = None) -> Callable[[F], F]:
    """Make `fn(**{data_keyword: model})` idempotent on the JMESPath `key_path` of that model. With `payload_path`,
    a repeat whose payload there differs from the first is refused (IdempotencyValidationError)."""

    config = IdempotencyConfig(event_key_jmespath=key_path, expires_after_seconds=RESULT_TTL_SECONDS,
                               raise_on_no_idempotency_key=True, payload_validation_jmespath=payload_path,
                               response_hook=response_hook)

    def decorate(fn: F) -> F:
        guarded: Callable[..., Any] | None = None

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            nonlocal guarded
            if guarded is None:  # built on first use: the Redis client needs the settings
                from .adapters.redis.idempotency import idempotency_store

                guarded = idempotent_function(data_keyword_argument=data_keyword,
                                              persistence_store=idempotency_store(), config=config)(fn)
            try:
                return guarded(**kwargs)
            except IdempotencyValidationError:
                raise IdempotencyKeyReused("this idempotency key was already used with a different request") from None
            except IdempotencyAlreadyInProgressError as exc:
                # The same request is running elsewhere: a transient, retried like a busy lock.
                raise LockBusy(f"the same request is already in progress ({type(exc).__name__})") from None
            except IdempotencyPersistenceLayerError as exc:  # Redis could not be reached: an outage, not a bug
                raise LockStoreUnavailable(type(exc).__name__) from exc

        # Handlers call `fn.config.register_lambda_context(context)`: an in-progress record then expires with
        # the invocation (a crash or timeout frees the key after the Lambda timeout instead of the whole TTL).
        wrapper.config = config  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _replayed(response: dict[str, Any], _: DataRecord) -> dict[str, Any]:
    return {**response, "headers": {**(response.get("headers") or {}), REPLAYED_HEADER: "true"}}


@idempotent("[scope, route, key]", data_keyword="request", payload_path="body", response_hook=_replayed)
def once_per_request_key(request: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """For API requests: `request` is {scope (the caller), route ("POST /path"), key, body}; `run` answers the
    request as a JSON-able {status, headers, body}, which a retry gets back."""
    return run()


def once_per_step(operation: str) -> Callable[[F], F]:
    """For step tasks taking `task=` (a StepTaskInput); `operation` keeps apply and undo keys apart."""
    return idempotent(f"['{operation}', deployment_id, step_id]", data_keyword="task")
