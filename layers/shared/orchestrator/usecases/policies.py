"""Tenant policy sets and change-freeze windows (admins write, the tenant reads), what a plan is checked against,
the check again before execution starts, and an admin's override of findings that block until overridden."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from ..domain.errors import ActionNotAllowed, NotFound, PolicyBlocked, ValidationFailed
from ..domain.intent import DeploymentIntent
from ..domain.lifecycle import Deployment, DeploymentStatus, EventType, utcnow
from ..domain.users import Permission, User
from ..planning.diff import spec_identifier
from ..planning.freeze import FreezeWindow, FreezeWindowIn, freeze_finding, freeze_message
from ..planning.plan import Plan
from ..planning.policies import (
    CompiledPolicy,
    PolicyIn,
    TenantPolicy,
    compile_policies,
    default_policies,
    evaluate_policy_set,
    validate_policy,
)
from ..planning.policy import PolicyContext
from .access import load_deployment, require
from .requests import _Body
from .services import Services

log = logging.getLogger(__name__)
S = DeploymentStatus


class OverrideBody(_Body):
    reason: str = Field(min_length=1, max_length=1000, description="Why the findings may be overridden")


# --- policy sets -----------------------------------------------------------------------------------------------------

def list_policies(svc: Services, user: User) -> list[TenantPolicy]:
    require(user, Permission.DEPLOYMENT_READ)
    return svc.policies.policies(user.tenant_id, default_policies())


def get_policy(svc: Services, user: User, policy_id: str) -> TenantPolicy:
    found = next((p for p in list_policies(svc, user) if p.id == policy_id), None)
    if found is None:
        raise NotFound(f"policy {policy_id} not found")
    return found


def create_policy(svc: Services, user: User, policy: PolicyIn) -> TenantPolicy:
    require(user, Permission.POLICY_MANAGE)
    validate_policy(policy)
    return svc.policies.add_policy(user.tenant_id, policy, user.username)


def replace_policy(svc: Services, user: User, policy_id: str, policy: PolicyIn) -> TenantPolicy:
    require(user, Permission.POLICY_MANAGE)
    validate_policy(policy)
    replaced = svc.policies.replace_policy(user.tenant_id, policy_id, policy)
    if replaced is None:
        raise NotFound(f"policy {policy_id} not found")
    return replaced


def delete_policy(svc: Services, user: User, policy_id: str) -> None:
    require(user, Permission.POLICY_MANAGE)
    if not svc.policies.delete_policy(user.tenant_id, policy_id):
        raise NotFound(f"policy {policy_id} not found")


# --- freeze windows --------------------------------------------------------------------------------------------------

def list_freeze_windows(svc: Services, user: User) -> list[FreezeWindow]:
    require(user, Permission.POLICY_MANAGE)
    return svc.policies.freeze_windows(user.tenant_id)


def get_freeze_window(svc: Services, user: User, window_id: str) -> FreezeWindow:
    found = next((w for w in list_freeze_windows(svc, user) if w.id == window_id), None)
    if found is None:
        raise NotFound(f"freeze window {window_id} not found")
    return found


def create_freeze_window(svc: Services, user: User, window: FreezeWindowIn) -> FreezeWindow:
    require(user, Permission.POLICY_MANAGE)
    return svc.policies.add_freeze_window(user.tenant_id, window, user.username)


def delete_freeze_window(svc: Services, user: User, window_id: str) -> None:
    require(user, Permission.POLICY_MANAGE)
    if not svc.policies.delete_freeze_window(user.tenant_id, window_id):
        raise NotFound(f"freeze window {window_id} not found")


# --- what plans are checked against ----------------------------------------------------------------------------------

def tenant_policies(svc: Services, tenant_id: str) -> list[CompiledPolicy]:
    """Loaded once per plan. Every stored rule compiled when it was written; one that no longer does (a rule kind
    withdrawn since) is logged and skipped rather than failing every plan of the tenant."""
    compiled = []
    for policy in svc.policies.policies(tenant_id, default_policies()):
        try:
            compiled.extend(compile_policies([policy]))
        except ValidationFailed:
            log.warning("policy %s of tenant %s no longer compiles; skipped", policy.id, tenant_id)
    return compiled


def plan_inputs(svc: Services, tenant_id: str, intent: DeploymentIntent, now: datetime) -> dict[str, Any]:
    """What `build_plan` needs beyond the stack's inventory, read once per plan: the tenant's policies, the records
    that depend on others (blast radius), the freeze in force, and the owners of the intent's cross-stack
    references (absent ones are missing)."""
    references = sorted({ref for resource in intent.resources for ref in resource.references})
    # Dependents are walked from what the plan can change: the stack's records and the intent's addresses.
    wanted = [spec_identifier(resource) for resource in intent.resources]
    return {"policies": tenant_policies(svc, tenant_id),
            "dependents": svc.inventory.dependents(tenant_id, intent.name, wanted),
            "freeze": freeze_finding(svc.policies.freeze_windows(tenant_id), intent.environment, now),
            "referenced": {found.identifier: found.stack for found in svc.inventory.at(tenant_id, references)}}


def execution_gate(svc: Services, deployment: Deployment, plan: Plan, now: datetime | None = None) -> str | None:
    """Checked when execution begins: policies added since the plan count, and a freeze that opened meanwhile stops
    the run. Returns when to try again (a `queue` window's end, ISO 8601 UTC) or None to go ahead; raises
    `PolicyBlocked` when the run must not start. An admin's override covers the soft findings and freezes."""
    now = now or utcnow()
    environment = deployment.intent.environment
    overridden = deployment.approval.overridden_by is not None
    context = PolicyContext(environment, deployment.intent.auto_approve, plan.steps, plan.estimated_monthly_cost,
                            deployment.intent.name)
    _, results = evaluate_policy_set(tenant_policies(svc, deployment.tenant_id), context,
                                     {entry["resource"]: entry["counts"]["total"] for entry in plan.blast_radius})
    stopping = [r for r in results if r["result"] == "blocked" or (r["result"] == "soft_blocked" and not overridden)]
    if stopping:
        names = ", ".join(f"'{r['policy']}' ({r['result']})" for r in stopping)
        raise PolicyBlocked(f"policies checked again before execution stop the run: {names}; re-plan it")
    if overridden:
        return None
    frozen = freeze_finding(svc.policies.freeze_windows(deployment.tenant_id), environment, now)
    if frozen is None:
        return None
    window, ends = frozen
    if window.mode == "queue":
        # Step Functions' Wait takes whole seconds in UTC; round up so the window has closed on waking.
        wake = (ends.astimezone(UTC) + timedelta(seconds=1)).replace(microsecond=0)
        return wake.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise PolicyBlocked(f"change_freeze: {freeze_message(window, ends)}; it cannot begin executing")


# --- override --------------------------------------------------------------------------------------------------------

def override(svc: Services, user: User, deployment_id: str, body: OverrideBody, *, correlation_id: str
             ) -> Deployment:
    """An admin lets a deployment waiting for approval proceed despite its overridable findings: the override and
    its reason go into the approval record and the audit trail, then it is approved."""
    from .deployments import approve_loaded

    require(user, Permission.POLICY_MANAGE)
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.POLICY_MANAGE)
    if deployment.status != S.AWAITING_APPROVAL:
        raise ActionNotAllowed("override", "deployment", deployment.status.value, [S.AWAITING_APPROVAL.value])
    plan = svc.deployments.get_plan(deployment.id)
    findings: list[dict[str, Any]] = [
        {"rule_id": f.rule_id, "resource": f.resource_identifier} for f in plan.policy.overridable] if plan else []
    deployment.approval = deployment.approval.model_copy(update={"overridden_by": user.username,
                                                                 "override_reason": body.reason})
    deployment.record(EventType.POLICY_OVERRIDDEN, actor=user.username, correlation_id=correlation_id,
                      detail={"reason": body.reason, "findings": findings})
    return approve_loaded(svc, user, deployment, f"override: {body.reason}", correlation_id=correlation_id)
