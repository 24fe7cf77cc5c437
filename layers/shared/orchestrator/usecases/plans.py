"""Speculative plans: what an intent would change if it were deployed now, planned as a deployment's plan task plans
it (the stack's inventory, the tenant's policies, dependents, freezes and references), without creating a
deployment, claiming resources or starting a workflow. Each one leaves an audit record and nothing else."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..domain.intent import DeploymentIntent, validate_intent
from ..domain.lifecycle import new_id, utcnow
from ..domain.resources import CloudResource
from ..domain.users import Permission, User
from ..planning.diff import spec_identifier
from ..planning.plan import Plan, StepAction
from ..ports.audit import PlanAuditEntry
from .access import require
from .services import Services


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """What the audit record keeps of a plan, and the answer repeats: step counts by action and the verdict."""

    by_action: dict[str, int]
    has_changes: bool
    blocked: bool
    estimated_monthly_cost: float
    risk: str

    @classmethod
    def of(cls, plan: Plan) -> PlanSummary:
        by_action = Counter(str(step.action) for step in plan.steps)
        return cls(by_action=dict(sorted(by_action.items())),
                   has_changes=any(action != StepAction.NO_OP for action in by_action),
                   blocked=plan.blocked, estimated_monthly_cost=plan.estimated_monthly_cost,
                   risk=str(plan.risk_assessment))


@dataclass(frozen=True, slots=True)
class SpeculativePlan:
    plan: Plan
    summary: PlanSummary


def speculative_plan(svc: Services, user: User, payload: Any, *, correlation_id: str) -> SpeculativePlan:
    """The plan `payload` (an intent, validated as a deployment's) would get now. Its `deployment_id` is a fresh id
    that names no deployment; nothing is stored but the audit record."""
    require(user, Permission.DEPLOYMENT_CREATE)
    intent = validate_intent(payload)
    plan, _ = plan_intent(svc, user.tenant_id, intent, deployment_id=new_id())
    summary = PlanSummary.of(plan)
    svc.plan_audit.record(PlanAuditEntry(
        id=new_id(), tenant_id=user.tenant_id, at=utcnow(), actor_id=user.id, actor=user.username,
        stack=intent.name, environment=intent.environment.value, plan_id=plan.plan_id,
        by_action=summary.by_action, has_changes=summary.has_changes, blocked=summary.blocked,
        estimated_monthly_cost=summary.estimated_monthly_cost, risk=summary.risk, correlation_id=correlation_id))
    return SpeculativePlan(plan, summary)


def plan_intent(svc: Services, tenant_id: str, intent: DeploymentIntent, *,
                deployment_id: str) -> tuple[Plan, list[CloudResource]]:
    """`intent` planned for its stack against what the tenant has now, and the live records it was planned against:
    what the stack owns (absent from the intent: destroyed) and whatever sits at the intent's addresses, whoever owns
    it (updated in place and restored exactly by a rollback; another stack's is blocked by policy). Policies, the
    tenant's dependency records and freeze windows are read once and handed to the planner as data. A deployment's
    plan task and a speculative plan both plan here."""
    stack = intent.name
    live = svc.inventory.for_stack(tenant_id, stack, [spec_identifier(resource) for resource in intent.resources])
    # The planner and the policy engine load when a plan is asked for, not with every API request.
    from ..planning.planner import build_plan
    from .policies import plan_inputs

    return build_plan(intent, deployment_id=deployment_id, live=live, stack=stack,
                      **plan_inputs(svc, tenant_id, intent, utcnow())), live
