"""The ports a use case may need, gathered once per process by `orchestrator.wiring`."""

from __future__ import annotations

from dataclasses import dataclass

from ..cloud.simulator import SimulatedProvider
from ..ports.audit import PlanAuditLog
from ..ports.inventory import Inventory
from ..ports.locks import LockManager
from ..ports.policies import PolicyStore
from ..ports.repositories import DeploymentRepository, DriftRepository, StepRepository, UserRepository
from ..ports.throttle import AttemptCounter
from ..ports.workflow import EventPublisher, Workflow
from ..settings import Settings


@dataclass
class Services:
    settings: Settings
    deployments: DeploymentRepository
    steps: StepRepository
    drift: DriftRepository
    users: UserRepository
    inventory: Inventory
    policies: PolicyStore
    provider: SimulatedProvider
    locks: LockManager
    attempts: AttemptCounter
    workflow: Workflow
    events: EventPublisher
    plan_audit: PlanAuditLog
