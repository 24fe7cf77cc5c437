"""Ports: where deployments, their steps and events, drift reports and users are stored.

The PostgreSQL adapters (`adapters/postgres/`) implement them. Every `save` is one transaction holding the state
change and its audit events, guarded by the deployment's version (optimistic concurrency): a lost race raises
`ConcurrencyConflict`, never a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..domain.lifecycle import Approval, Deployment, DeploymentStatus, DomainEvent
from ..domain.steps import StepRun
from ..domain.users import User
from .locks import Lease

if TYPE_CHECKING:
    from ..drift.report import DriftReport
    from ..planning.plan import Plan


class _Unchanged:
    """Marker: leave the stored value as it is."""


UNCHANGED = _Unchanged()


@dataclass(frozen=True, slots=True)
class DeploymentSummary:
    """A list row: what a page of deployments shows, without loading whole intents."""

    id: str
    tenant_id: str
    name: str
    description: str
    status: DeploymentStatus
    environment: str
    strategy: str
    providers: list[str]
    resource_count: int
    initiated_by: str
    execution_arn: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    phase: str | None = None
    phase_ends_at: datetime | None = None

    @classmethod
    def of(cls, d: Deployment) -> DeploymentSummary:
        intent = d.intent
        return cls(id=d.id, tenant_id=d.tenant_id, name=intent.name, description=intent.description,
                   status=d.status, environment=intent.environment.value, strategy=intent.strategy.value,
                   providers=intent.providers, resource_count=len(intent.resources), initiated_by=d.initiated_by,
                   execution_arn=d.execution_arn, error_message=d.error_message, created_at=d.created_at,
                   updated_at=d.updated_at, phase=d.phase, phase_ends_at=d.phase_ends_at)


@dataclass(frozen=True, slots=True)
class DeploymentHead:
    """A deployment without its intent's resources (up to 5,000 specs): what reads show and access checks need."""

    summary: DeploymentSummary
    approval: Approval

    @classmethod
    def of(cls, d: Deployment) -> DeploymentHead:
        return cls(DeploymentSummary.of(d), d.approval)


@dataclass(frozen=True, slots=True)
class Claim:
    """A resource another in-flight deployment holds."""

    resource_identifier: str
    deployment_id: str
    name: str
    status: str


@dataclass(frozen=True, slots=True)
class Page:
    items: list[DeploymentSummary]
    total: int


@dataclass(frozen=True, slots=True)
class PlanHeadline:
    """A plan without its steps and waves: what a deployment's summary shows. Each list that grows with the
    deployment (`LISTED`) holds at most the limit asked for; `totals` says how long each one really is."""

    LISTED = ("critical_path", "policy_results", "blast_radius", "violations", "warnings", "overridable", "phases")

    figures: dict[str, Any]
    lists: dict[str, list[Any]]
    totals: dict[str, int]


@dataclass(frozen=True, slots=True)
class StepCounts:
    """A deployment's steps counted in the database (no step is loaded)."""

    by_status: dict[str, int]
    by_action: dict[str, int]
    # Steps that change something (every action but no-op), by status: what progress is measured on.
    work_by_status: dict[str, int]
    # Work whose change was made (succeeded, or undone since) and how much of it a rollback undid.
    applied: int
    rolled_back: int
    wave_count: int
    # The first wave with work not yet succeeded; None when every such step succeeded.
    first_open_wave: int | None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A row of a deployment's step list: the step's run record and what the plan said of it (region,
    dependencies, estimated duration and cost, changed paths, owner stack)."""

    run: StepRun
    provider: str
    resource_type: str
    planned: dict[str, Any]


class DeploymentRepository(Protocol):
    def add(self, deployment: Deployment, *, idempotency_key: str | None = None) -> Deployment:
        """Insert the deployment and its pending events. With an idempotency key already used by the tenant,
        insert nothing and return the deployment created by the first request."""
        ...

    def get(self, deployment_id: str, *, tenant_id: str | None = None) -> Deployment | None:
        """None when unknown or owned by another tenant (tenant_id None: any tenant, for the workflow)."""
        ...

    def head(self, deployment_id: str, *, tenant_id: str) -> DeploymentHead | None:
        """The deployment's summary and approval, without loading its intent; None as `get`."""
        ...

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        """Just the status: what a step task checks before touching the cloud (no intent is loaded)."""
        ...

    def get_plan(self, deployment_id: str) -> Plan | None: ...

    def plan_headline(self, deployment_id: str, *, list_limit: int) -> PlanHeadline | None:
        """The plan's figures without reading its steps: bounded whatever the plan's size."""
        ...

    def list(self, tenant_id: str, *, status: DeploymentStatus | None = None, environment: str | None = None,
             limit: int = 50, offset: int = 0) -> Page: ...

    def save(self, deployment: Deployment, *, plan: Plan | None = None, steps: list[StepRun] | None = None,
             task_token: str | None | _Unchanged = UNCHANGED) -> Deployment:
        """Persist status, error, plan id, execution ARN, approval and the pending events in one transaction,
        if the stored version still equals `deployment.version`; bump the version. With a plan (and its
        steps), also store it and replace the deployment's steps. Entering a settled state releases the
        deployment's resource claims."""
        ...

    def claim(self, tenant_id: str, deployment_id: str, identifiers: list[str]) -> list[Claim]:
        """Claim every identifier for the deployment, or none: returns the claims other in-flight deployments hold
        (empty when all were claimed). Claims of settled deployments are taken over."""
        ...

    def set_phase(self, deployment_id: str, phase: str | None, *, started_at: datetime | None = None,
                  ends_at: datetime | None = None) -> None:
        """Report where the running workflow is (None: nowhere). Not a lifecycle change, so no version check."""
        ...

    def set_execution_arn(self, deployment_id: str, execution_arn: str) -> None:
        """Record the running execution. Not a lifecycle change, so no version check: the workflow may already
        have moved the deployment on by the time the start call returns."""
        ...

    def approval_token(self, deployment_id: str) -> str | None: ...

    def events(self, deployment_id: str) -> list[DomainEvent]: ...

    def event_page(self, deployment_id: str, *, after: int = 0, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """(sequence, event) pairs oldest first: at most `limit`, those after the sequence `after`."""
        ...

    def append_events(self, events: list[DomainEvent], tenant_id: str) -> None:
        """Audit events that change no deployment state (step results, verification)."""
        ...

    def ids_in_status(self, status: DeploymentStatus, *, limit: int = 500, after: str | None = None) -> list[
            tuple[str, str]]:
        """(deployment_id, tenant_id) pairs in a status, ordered by id, for scheduled scans."""
        ...


class StepRepository(Protocol):
    def get(self, deployment_id: str, step_id: str) -> StepRun | None: ...

    def list(self, deployment_id: str) -> list[StepRun]: ...

    def in_batch(self, deployment_id: str, batch: int, *, undo: bool = False) -> list[StepRun]:
        """The steps of one apply batch (or, with `undo`, rollback batch) in the order the batch runs them."""
        ...

    def in_phase(self, deployment_id: str, phase_name: str) -> list[StepRun]:
        """The steps of one strategy phase, in the order they run."""
        ...

    def assign_undo_batches(self, deployment_id: str, undo_batch: dict[str, int]) -> None:
        """Record the rollback batch of each step about to be undone (step id -> batch)."""
        ...

    def runs_after(self, deployment_id: str, *, after: str | None = None, limit: int = 500) -> list[StepRun]:
        """Up to `limit` of the deployment's steps with ids after `after`, in step id order (a scan's bounded read)."""
        ...

    def page(self, deployment_id: str, *, after: tuple[int, str] | None = None, status: str | None = None,
             wave: int | None = None, limit: int = 100) -> list[PlannedStep]:
        """Up to `limit` steps in step order (wave, then position), those after the (wave, step_id) `after`."""
        ...

    def counts(self, deployment_id: str) -> StepCounts: ...

    def save(self, step: StepRun, *, lease: Lease | None = None) -> None:
        """Persist the step's status, attempt, result, timings. Under a lease, reject the write
        (`StaleFencingToken`) when a newer holder of the same lock has already written."""
        ...


class DriftRepository(Protocol):
    def add(self, report: DriftReport) -> DriftReport: ...

    def get(self, report_id: str, *, tenant_id: str | None = None) -> DriftReport | None: ...

    def list(self, tenant_id: str, *, deployment_id: str | None = None, limit: int = 50) -> list[DriftReport]: ...

    def set_remediation(self, report_id: str, deployment_id: str) -> None: ...


class UserRepository(Protocol):
    def add(self, user: User, password_hash: str) -> User:
        """Raise `ConcurrencyConflict` when the username is taken."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def get_with_password(self, username: str) -> tuple[User, str] | None: ...

    def count(self) -> int: ...
