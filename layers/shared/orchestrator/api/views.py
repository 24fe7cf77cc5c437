"""What the API returns: the contract clients rely on, built from domain objects (never the task token)."""

from __future__ import annotations

from typing import Any

from ..domain.lifecycle import Deployment, DeploymentStatus, DomainEvent
from ..domain.notifications import Delivery, Destination
from ..domain.resources import CloudResource
from ..domain.steps import StepRun, StepStatus
from ..domain.tokens import ApiToken
from ..domain.users import User
from ..drift.report import DriftReport
from ..planning.freeze import FreezeWindow
from ..planning.plan import Plan, StepAction
from ..planning.policies import TenantPolicy
from ..ports.repositories import DeploymentSummary


def _time(value) -> str | None:
    return value.isoformat() if value else None


def plan_view(plan: Plan) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "step_count": len(plan.steps),
        "waves": plan.waves,
        "steps": [{
            "step_id": s.step_id, "name": s.name, "action": s.action.value, "provider": s.provider,
            "resource_type": s.resource_type, "resource_identifier": s.resource_identifier,
            "dependencies": s.dependencies, "estimated_duration_seconds": s.estimated_duration_seconds,
            "wave": s.wave, "changed_paths": s.changed_paths, "monthly_cost": s.monthly_cost, "region": s.region,
            "owner_stack": s.owner_stack,
        } for s in plan.steps],
        "critical_path": plan.critical_path,
        "critical_path_seconds": plan.critical_path_seconds,
        "cost_breakdown": plan.cost_breakdown,
        "blocked": plan.blocked,
        "estimated_total_duration_seconds": plan.estimated_total_duration_seconds,
        "estimated_monthly_cost": plan.estimated_monthly_cost,
        "risk_assessment": plan.risk_assessment.value,
        "risk_reasons": plan.risk_reasons,
        "policy": plan.policy.model_dump(mode="json"),
        "requires_approval": plan.requires_approval,
        "auto_approve_overridden": plan.auto_approve_overridden,
        "reasoning": plan.reasoning,
        "policy_results": plan.policy_results,
        "blast_radius": plan.blast_radius,
        "soft_blocked": plan.soft_blocked,
    }


def step_result_view(step: StepRun) -> dict[str, Any]:
    return {
        "step_id": step.step_id, "status": step.status.value, "attempt_number": step.attempt,
        "provider_resource_id": step.provider_resource_id, "error_message": step.error_message,
        "duration_seconds": step.duration_seconds, "action": step.action,
        "resource_identifier": step.resource_identifier, "wave": step.wave,
        "rolled_back": step.undone_at is not None,
    }


def progress(deployment: Deployment, steps: list[StepRun]) -> float:
    if deployment.status == DeploymentStatus.COMPLETED:
        return 100.0
    work = [s for s in steps if s.action != StepAction.NO_OP.value]
    if not work:
        return 0.0
    done = sum(1 for s in work if s.status == StepStatus.SUCCEEDED)
    return round(100.0 * done / len(work), 1)


def deployment_summary(d: Deployment | DeploymentSummary) -> dict[str, Any]:
    s = DeploymentSummary.of(d) if isinstance(d, Deployment) else d
    return {
        "id": s.id, "name": s.name, "description": s.description, "status": s.status.value,
        "environment": s.environment, "strategy": s.strategy, "providers": s.providers, "tenant_id": s.tenant_id,
        "initiated_by": s.initiated_by, "created_at": _time(s.created_at), "updated_at": _time(s.updated_at),
        "execution_arn": s.execution_arn, "error_message": s.error_message, "resource_count": s.resource_count,
    }


def deployment_view(d: Deployment, plan: Plan | None, steps: list[StepRun]) -> dict[str, Any]:
    approval = d.approval
    return {
        **deployment_summary(d),
        "progress_percentage": progress(d, steps),
        "plan": plan_view(plan) if plan else None,
        "step_results": [step_result_view(s) for s in steps if s.status != StepStatus.PENDING or s.attempt],
        "approval": {
            "required": approval.required, "requested_at": _time(approval.requested_at),
            "decided_by": approval.decided_by, "decided_at": _time(approval.decided_at),
            "comment": approval.comment, "overridden_by": approval.overridden_by,
            "override_reason": approval.override_reason,
            # Only approve and reject record a decider; a rejection is also the deployment's final state.
            "decision": (("rejected" if d.status == DeploymentStatus.REJECTED else "approved")
                         if approval.decided_by else None),
        },
    }


def event_view(event: DomainEvent) -> dict[str, Any]:
    return {
        "at": _time(event.at), "type": event.type.value, "actor": event.actor,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "detail": event.detail, "correlation_id": event.correlation_id,
    }


def drift_view(report: DriftReport) -> dict[str, Any]:
    return report.model_dump(mode="json")


def resource_view(resource: CloudResource) -> dict[str, Any]:
    return {
        "id": resource.id, "resource_identifier": resource.identifier, "provider": resource.provider.value,
        "region": resource.region, "resource_type": resource.resource_type.value, "name": resource.name,
        "provider_resource_id": resource.provider_resource_id, "properties": resource.properties,
        "tags": resource.tags, "deployment_id": resource.deployment_id, "stack": resource.stack,
        "version": resource.version, "dependencies": resource.dependencies, "updated_at": _time(resource.updated_at),
    }


def token_view(token: ApiToken) -> dict[str, Any]:
    """Never the secret: only the creation answer adds it."""
    return {"id": token.id, "name": token.name, "role": token.role.value, "created_at": _time(token.created_at),
            "expires_at": _time(token.expires_at), "revoked_at": _time(token.revoked_at)}


def destination_view(d: Destination) -> dict[str, Any]:
    """Never the secret: only the creation answer adds it."""
    return {"id": d.id, "name": d.name, "url": d.url, "events": [e.value for e in d.events], "format": d.format.value,
            "created_by": d.created_by, "created_at": _time(d.created_at)}


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "event": d.event.value, "deployment_id": d.deployment_id, "outcome": d.outcome,
            "attempts": d.attempts, "status_code": d.status_code, "error": d.error, "at": _time(d.at)}


def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email, "role": user.role.value,
            "tenant_id": user.tenant_id, "is_active": user.is_active}


def policy_view(policy: TenantPolicy) -> dict[str, Any]:
    return {"id": policy.id, "name": policy.name, "description": policy.description,
            "environments": [e.value for e in policy.environments], "enforcement": policy.enforcement,
            "rule": policy.rule}


def freeze_window_view(window: FreezeWindow) -> dict[str, Any]:
    return {"id": window.id, "name": window.name, "environments": [str(e) for e in window.environments],
            "reason": window.reason, "mode": window.mode, "starts_at": _time(window.starts_at),
            "ends_at": _time(window.ends_at), "cron": window.cron, "duration_minutes": window.duration_minutes,
            "timezone": window.timezone}
