"""Domain errors. Adapters and handlers map these to HTTP codes and Step Functions error names in one place each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "domain_error"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure: where (a JSON-style location) and why."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    @property
    def location(self) -> str:
        return ".".join(str(part) for part in self.loc)

    def as_dict(self) -> dict:
        return {"loc": list(self.loc), "location": self.location, "msg": self.msg, "type": self.type}


class ValidationFailed(DomainError):
    """Every problem found in one input, reported together."""

    code = "validation_error"

    def __init__(self, errors: Iterable[FieldError]):
        self.errors: list[FieldError] = list(errors)
        first = self.errors[0] if self.errors else None
        summary = f"{first.location}: {first.msg}" if first else "invalid input"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{summary}{more}")


class InvalidTransition(DomainError):
    """A lifecycle transition the state machine does not allow."""

    code = "invalid_transition"

    def __init__(self, entity: str, current: str, requested: str, allowed: Iterable[str]):
        self.entity = entity
        self.current = current
        self.requested = requested
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (terminal state)"
        super().__init__(
            f"{entity} cannot move from '{current}' to '{requested}'; allowed next states: {allowed_text}"
        )


class ActionNotAllowed(DomainError):
    """An action (approve, cancel, rollback, ...) asked of something in a state where it does not apply."""

    code = "action_not_allowed"

    def __init__(self, action: str, entity: str, current: str, allowed_from: Iterable[str]):
        self.action, self.entity, self.current = action, entity, current
        self.allowed_from = sorted(allowed_from)
        super().__init__(f"cannot {action} a {entity} that is {current}; {action} applies to a {entity} that is "
                         f"{' or '.join(self.allowed_from)}")


class NotFound(DomainError):
    code = "not_found"


class ConcurrencyConflict(DomainError):
    """Someone else changed the record first (optimistic concurrency lost the race)."""

    code = "conflict"


class PermissionDenied(DomainError):
    code = "forbidden"


class PolicyBlocked(DomainError):
    """The plan violates a blocking policy rule."""

    code = "policy_blocked"


class RetryLimitExceeded(DomainError):
    code = "retry_limit_exceeded"


class LockBusy(DomainError):
    """Another holder owns the lock. Transient: the workflow retries on this name."""

    code = "lock_busy"


class StaleFencingToken(DomainError):
    """A write carried a fencing token older than one already used: its lock had expired."""

    code = "stale_fencing_token"


class DependencyUnavailable(DomainError):
    """A backing service (database, cache, workflow engine) cannot be reached. The API answers 503."""

    code = "dependency_unavailable"

    def __init__(self, dependency: str, reason: str = ""):
        self.dependency = dependency
        super().__init__(f"{dependency} is unavailable" + (f": {reason}" if reason else ""))


class LockStoreUnavailable(DependencyUnavailable):
    def __init__(self, reason: str = ""):
        super().__init__("redis", reason)


class DatabaseUnavailable(DependencyUnavailable):
    def __init__(self, reason: str = ""):
        super().__init__("postgresql", reason)


class ProviderError(DomainError):
    """The (simulated) cloud provider refused or failed an operation. Transient unless stated."""

    code = "provider_error"


class ApplyFailed(ProviderError):
    code = "apply_failed"


class VerificationFailed(ProviderError):
    code = "verification_failed"


class StalePlan(DomainError):
    """The resource is no longer what the plan saw (someone changed, created or took it since): not retried; the
    deployment rolls back."""

    code = "stale_plan"


class HealthCheckFailed(DomainError):
    """A strategy's health check found resources unhealthy (after a batch, or while a canary or green bakes): not
    retried; the deployment rolls back."""

    code = "health_check_failed"


class Cancelled(DomainError):
    """The deployment was cancelled while a workflow task ran. The state machine catches this name."""

    code = "cancelled"


class Throttled(DomainError):
    """Too many attempts; try again after `retry_after_seconds`."""

    code = "throttled"

    def __init__(self, message: str, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message)


class AuthenticationFailed(DomainError):
    code = "unauthorized"


class IdempotencyKeyReused(DomainError):
    """A client's Idempotency-Key came back with a different request body."""

    code = "idempotency_key_reused"
