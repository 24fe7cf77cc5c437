"""Ports: where deployments, their steps and events, drift reports and users are stored.

The PostgreSQL adapters (`adapters/postgres/`) implement them. Every `save` is one transaction holding the state
change and its audit events, guarded by the deployment's version (optimistic concurrency): a lost race raises
`ConcurrencyConflict`, never a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..domain.lifecycle import Deployment, DeploymentStatus, DomainEvent
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

    @classmethod
    def of(cls, d: Deployment) -> DeploymentSummary:
        intent = d.intent
        return cls(id=d.id, tenant_id=d.tenant_id, name=intent.name, description=intent.description,
                   status=d.status, environment=intent.environment.value, strategy=intent.strategy.value,
                   providers=intent.providers, resource_count=len(intent.resources), initiated_by=d.initiated_by,
                   execution_arn=d.execution_arn, error_message=d.error_message, created_at=d.created_at,
                   updated_at=d.updated_at)


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


class DeploymentRepository(Protocol):
    def add(self, deployment: Deployment, *, idempotency_key: str | None = None) -> Deployment:
        """Insert the deployment and its pending events. With an idempotency key already used by the tenant,
        insert nothing and return the deployment created by the first request."""
        ...

    def get(self, deployment_id: str, *, tenant_id: str | None = None) -> Deployment | None:
        """None when unknown or owned by another tenant (tenant_id None: any tenant, for the workflow)."""
        ...

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        """Just the status: what a step task checks before touching the cloud (no intent is loaded)."""
        ...

    def get_plan(self, deployment_id: str) -> Plan | None: ...

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

    def set_execution_arn(self, deployment_id: str, execution_arn: str) -> None:
        """Record the running execution. Not a lifecycle change, so no version check: the workflow may already
        have moved the deployment on by the time the start call returns."""
        ...

    def approval_token(self, deployment_id: str) -> str | None: ...

    def events(self, deployment_id: str) -> list[DomainEvent]: ...

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
