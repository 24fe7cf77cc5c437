"""The lifecycle of one plan step as the apply and destroy tasks run it: 9 states, at most 3 attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from .errors import InvalidTransition, RetryLimitExceeded
from .lifecycle import utcnow

MAX_ATTEMPTS = 3


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    ACQUIRED = "acquired"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


T = StepStatus
STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    T.PENDING: frozenset({T.QUEUED, T.CANCELLED}),
    T.QUEUED: frozenset({T.ACQUIRED, T.CANCELLED, T.TIMED_OUT}),
    T.ACQUIRED: frozenset({T.RUNNING, T.CANCELLED}),
    T.RUNNING: frozenset({T.SUCCEEDED, T.FAILED, T.TIMED_OUT}),
    T.SUCCEEDED: frozenset(),
    T.FAILED: frozenset({T.RETRYING, T.CANCELLED}),
    T.RETRYING: frozenset({T.QUEUED}),
    T.CANCELLED: frozenset(),
    T.TIMED_OUT: frozenset({T.RETRYING, T.CANCELLED, T.FAILED}),
}


def check_step_transition(current: StepStatus | str, requested: StepStatus | str) -> None:
    current, requested = StepStatus(current), StepStatus(requested)
    allowed = STEP_TRANSITIONS[current]
    if requested not in allowed:
        raise InvalidTransition("step", current.value, requested.value, (s.value for s in allowed))


class StepRun(BaseModel):
    """One step's execution record. `idempotency_key` makes a repeated apply or destroy return the first result."""

    step_id: str
    deployment_id: str
    idempotency_key: str
    tenant_id: str = ""
    name: str = ""
    action: str = "create"
    wave: int = 0
    # The batches the apply and the rollback run it in (orchestrator/planning/schedule.py).
    batch: int | None = None
    undo_batch: int | None = None
    # The strategy phase it runs in: its position in the plan's phases (a task runs its steps phase by phase) and
    # its name ("batch 2/5", "canary", ...).
    phase: int = 0
    phase_name: str | None = None
    resource_identifier: str = ""
    # The stack (deployment name) the step applies for: what its resource will belong to.
    stack: str | None = None
    # The ResourceSpec to apply (JSON data), and what the inventory held before the apply, so an undo restores it.
    resource: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    undone_at: datetime | None = None
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    max_attempts: int = MAX_ATTEMPTS
    error_message: str | None = None
    provider_resource_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def _move(self, to: StepStatus) -> None:
        check_step_transition(self.status, to)
        self.status = to

    @property
    def can_retry(self) -> bool:
        return self.status in (T.FAILED, T.TIMED_OUT) and self.attempt < self.max_attempts

    def begin_attempt(self) -> int:
        """Queue, acquire and start the next attempt; returns its number (1-based). An attempt still recorded in
        flight was interrupted (its worker died before recording an outcome; the caller holds the step's lock, so
        nobody runs it now): it counts as timed out."""
        if self.status in (T.QUEUED, T.ACQUIRED, T.RUNNING):
            if self.status == T.ACQUIRED:
                self._move(T.RUNNING)
            self.time_out()
        if self.status in (T.FAILED, T.TIMED_OUT):
            if self.attempt >= self.max_attempts:
                raise RetryLimitExceeded(f"step {self.step_id} already used its {self.max_attempts} attempts")
            self._move(T.RETRYING)
        self._move(T.QUEUED)
        self._move(T.ACQUIRED)
        self._move(T.RUNNING)
        self.attempt += 1
        self.started_at, self.finished_at, self.error_message = utcnow(), None, None
        return self.attempt

    def succeed(self, provider_resource_id: str | None = None) -> None:
        self._move(T.SUCCEEDED)
        self.provider_resource_id = provider_resource_id
        self.finished_at = utcnow()

    def fail(self, error_message: str) -> None:
        self._move(T.FAILED)
        self.error_message = error_message
        self.finished_at = utcnow()

    def time_out(self) -> None:
        self._move(T.TIMED_OUT)
        self.error_message = "timed out"
        self.finished_at = utcnow()

    def cancel(self) -> None:
        self._move(T.CANCELLED)
        self.finished_at = utcnow()

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
