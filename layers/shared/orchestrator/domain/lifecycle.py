"""The deployment lifecycle: 13 states, the transitions between them, and the domain events they record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .errors import InvalidTransition
from .intent import DeploymentIntent


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    PLANNING = "planning"
    PLANNED = "planned"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    EXECUTING = "executing"
    VERIFYING = "verifying"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


S = DeploymentStatus
TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    S.PENDING: frozenset({S.PLANNING, S.CANCELLED}),
    S.PLANNING: frozenset({S.PLANNED, S.FAILED}),
    # A plan with nothing to change completes at once: planned -> completed, without approval or apply.
    S.PLANNED: frozenset({S.AWAITING_APPROVAL, S.APPROVED, S.EXECUTING, S.CANCELLED, S.COMPLETED}),
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.EXECUTING, S.CANCELLED}),
    # Cancelling a running deployment undoes what was applied: executing -> rolling_back.
    S.EXECUTING: frozenset({S.VERIFYING, S.FAILED, S.ROLLING_BACK}),
    S.VERIFYING: frozenset({S.COMPLETED, S.FAILED, S.ROLLING_BACK}),
    # Manual rollback of a completed deployment.
    S.COMPLETED: frozenset({S.ROLLING_BACK}),
    # Re-plan (-> pending) or manual rollback of what a failed run left behind.
    S.FAILED: frozenset({S.ROLLING_BACK, S.PENDING}),
    S.ROLLING_BACK: frozenset({S.ROLLED_BACK, S.FAILED}),
    S.ROLLED_BACK: frozenset({S.PENDING}),
    S.CANCELLED: frozenset({S.PENDING}),
    S.REJECTED: frozenset({S.PENDING}),
}

# States in which no workflow runs for the deployment.
SETTLED: frozenset[DeploymentStatus] = frozenset({S.COMPLETED, S.FAILED, S.ROLLED_BACK, S.CANCELLED, S.REJECTED})


class EventType(StrEnum):
    CREATED = "created"
    REPLAN_REQUESTED = "replan_requested"
    PLANNING_STARTED = "planning_started"
    PLAN_GENERATED = "plan_generated"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTION_STARTED = "execution_started"
    STEP_SUCCEEDED = "step_succeeded"
    STEP_FAILED = "step_failed"
    # Ownership and recovery: a stack took a resource over; an undo left a resource alone (and why); the workflow
    # was started again because its execution had ended without an outcome.
    RESOURCE_ADOPTED = "resource_adopted"
    UNDO_SKIPPED = "undo_skipped"
    POLICY_OVERRIDDEN = "policy_overridden"
    WORKFLOW_RESTARTED = "workflow_restarted"
    # The plan held only no-ops: the run completed without approval or apply.
    NO_CHANGES = "no_changes"
    # Strategies: a phase's resources were verified, a bake started, traffic switched to green instances.
    PHASE_VERIFIED = "phase_verified"
    BAKE_STARTED = "bake_started"
    TRAFFIC_SWITCHED = "traffic_switched"
    VERIFICATION_STARTED = "verification_started"
    VERIFIED = "verified"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLBACK_STARTED = "rollback_started"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


# The event each transition records, keyed by the state it enters.
EVENT_ON_ENTER: dict[DeploymentStatus, EventType] = {
    S.PENDING: EventType.REPLAN_REQUESTED,
    S.PLANNING: EventType.PLANNING_STARTED,
    S.PLANNED: EventType.PLAN_GENERATED,
    S.AWAITING_APPROVAL: EventType.APPROVAL_REQUESTED,
    S.APPROVED: EventType.APPROVED,
    S.REJECTED: EventType.REJECTED,
    S.EXECUTING: EventType.EXECUTION_STARTED,
    S.VERIFYING: EventType.VERIFICATION_STARTED,
    S.COMPLETED: EventType.COMPLETED,
    S.FAILED: EventType.FAILED,
    S.ROLLING_BACK: EventType.ROLLBACK_STARTED,
    S.ROLLED_BACK: EventType.ROLLED_BACK,
    S.CANCELLED: EventType.CANCELLED,
}


def check_transition(current: DeploymentStatus | str, requested: DeploymentStatus | str) -> None:
    """Raise `InvalidTransition` naming the current state, the asked state and the legal next states."""
    current, requested = DeploymentStatus(current), DeploymentStatus(requested)
    allowed = TRANSITIONS[current]
    if requested not in allowed:
        raise InvalidTransition("deployment", current.value, requested.value, (s.value for s in allowed))


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EventType
    deployment_id: str
    at: datetime
    actor: str
    correlation_id: str
    from_status: DeploymentStatus | None = None
    to_status: DeploymentStatus | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Approval(BaseModel):
    """Who decided about a plan that needed a person. The task token lives only in the database."""

    required: bool = False
    requested_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    # An admin's override of findings that block until overridden (soft-mandatory policies, freezes, dependents).
    overridden_by: str | None = None
    override_reason: str | None = None


class Deployment(BaseModel):
    """The aggregate: an intent, where it stands in the lifecycle, and the events not yet persisted."""

    id: str = Field(default_factory=new_id)
    tenant_id: str
    initiated_by: str
    intent: DeploymentIntent
    status: DeploymentStatus = DeploymentStatus.PENDING
    version: int = 0
    error_message: str | None = None
    plan_id: str | None = None
    execution_arn: str | None = None
    approval: Approval = Field(default_factory=Approval)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Where the running workflow is ("batch 2/5", "canary", "bake", ...; None when none runs), reported by its tasks
    # apart from the state changes; a bake sets when it started and ends.
    phase: str | None = None
    phase_started_at: datetime | None = None
    phase_ends_at: datetime | None = None
    _events: list[DomainEvent] = PrivateAttr(default_factory=list)

    @classmethod
    def create(cls, intent: DeploymentIntent, *, tenant_id: str, initiated_by: str, correlation_id: str,
               deployment_id: str | None = None) -> Deployment:
        deployment = cls(tenant_id=tenant_id, initiated_by=initiated_by, intent=intent,
                         **({"id": deployment_id} if deployment_id else {}))
        deployment.record(EventType.CREATED, actor=initiated_by, correlation_id=correlation_id,
                          detail={"resources": len(intent.resources), "environment": intent.environment.value})
        return deployment

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED

    def transition(self, to: DeploymentStatus | str, *, actor: str, correlation_id: str,
                   detail: dict[str, Any] | None = None, error_message: str | None = None) -> DomainEvent:
        to = DeploymentStatus(to)
        check_transition(self.status, to)
        previous, now = self.status, utcnow()
        self.status, self.updated_at = to, now
        if error_message is not None:
            self.error_message = error_message
        elif to == DeploymentStatus.PENDING:
            self.error_message = None
        event = DomainEvent(type=EVENT_ON_ENTER[to], deployment_id=self.id, at=now, actor=actor,
                            correlation_id=correlation_id, from_status=previous, to_status=to,
                            detail={**(detail or {}), **({"error": error_message} if error_message else {})})
        self._events.append(event)
        return event

    def record(self, type: EventType, *, actor: str, correlation_id: str,
               detail: dict[str, Any] | None = None) -> DomainEvent:
        """Record an event that is not a state change (creation, a step result, a passed verification)."""
        event = DomainEvent(type=type, deployment_id=self.id, at=utcnow(), actor=actor,
                            correlation_id=correlation_id, detail=detail or {})
        self._events.append(event)
        return event

    @property
    def pending_events(self) -> list[DomainEvent]:
        """Events recorded but not yet stored (the repository stores them with the state change)."""
        return list(self._events)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events
