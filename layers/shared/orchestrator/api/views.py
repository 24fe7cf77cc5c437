"""What the API returns: the contract clients rely on, built from domain objects (never the task token)."""

from __future__ import annotations

from typing import Any

from ..domain.lifecycle import Deployment, DeploymentStatus, DomainEvent
from ..domain.notifications import Delivery, Destination
from ..domain.resources import CloudResource, StandbyResource
from ..domain.steps import StepStatus
from ..domain.tokens import ApiToken
from ..domain.users import User
from ..drift.report import DriftReport
from ..planning.freeze import FreezeWindow
from ..planning.policies import TenantPolicy
from ..ports.repositories import DeploymentSummary, PlanHeadline, PlannedStep, StepCounts
from ..usecases.deployments import Overview
from ..usecases.plans import SpeculativePlan

# How many resources each policy result names in a deployment's summary (resource_count has them all).
NAMED_RESOURCES = 10


def _time(value) -> str | None:
    return value.isoformat() if value else None


def plan_view(plan: PlanHeadline, steps: StepCounts) -> dict[str, Any]:
    """The plan's headline figures. Lists that grow with the deployment show their first entries; `totals` has
    their full lengths and `truncated` is true when any list was cut (the steps collection has every step)."""
    f, lists, totals = plan.figures, plan.lists, plan.totals
    return {
        "plan_id": f["plan_id"],
        "step_count": steps.total,
        "wave_count": steps.wave_count,
        "critical_path": lists["critical_path"],
        "critical_path_seconds": f["critical_path_seconds"],
        "cost_breakdown": f["cost_breakdown"],
        "blocked": f["blocked"],
        "estimated_total_duration_seconds": f["estimated_total_duration_seconds"],
        "estimated_monthly_cost": f["estimated_monthly_cost"],
        "risk_assessment": f["risk_assessment"],
        "risk_reasons": f["risk_reasons"],
        "policy": {kind: lists[kind] for kind in ("violations", "warnings", "overridable")},
        "requires_approval": f["requires_approval"],
        "auto_approve_overridden": f["auto_approve_overridden"],
        "reasoning": f["reasoning"],
        "policy_results": [{**result, "resources": result["resources"][:NAMED_RESOURCES],
                            "resource_count": len(result["resources"])} for result in lists["policy_results"]],
        "blast_radius": lists["blast_radius"],
        "soft_blocked": f.get("soft_blocked", False),
        "strategy": f.get("strategy", "rolling"),
        "strategy_options": f.get("strategy_options", {}),
        "phases": _phases(lists["phases"], totals["phases"], steps),
        "expected_downtime_seconds": f.get("expected_downtime_seconds"),
        "totals": totals,
        "truncated": any(len(lists[name]) < n for name, n in totals.items() if name != "phases")
        or any(len(r["resources"]) > NAMED_RESOURCES for r in lists["policy_results"]),
    }


def _phases(listed: list[dict[str, Any]], total: int, steps: StepCounts) -> list[dict[str, Any]]:
    """The plan's phases; past the list's cap only a rolling plan has that many (its batches), shown as one entry
    (the deployment's `phase` says which batch runs)."""
    if total <= len(listed):
        return listed
    work = steps.total - steps.by_action.get("no-op", 0)
    return [{"name": f"batch 1/{total} … {total}/{total}", "kind": "batch", "steps": work, "bake_seconds": None}]


def speculative_plan_view(result: SpeculativePlan) -> dict[str, Any]:
    """POST /plans: the plan as a deployment stores it, each step without its resource spec (the caller's own, and
    the values of its secrets), then the summary its audit record keeps."""
    s = result.summary
    return {"plan": result.plan.model_dump(mode="json", exclude={"steps": {"__all__": {"resource"}}}),
            "summary": {"by_action": s.by_action, "has_changes": s.has_changes, "blocked": s.blocked,
                        "estimated_monthly_cost": s.estimated_monthly_cost, "risk": s.risk}}


def step_view(row: PlannedStep) -> dict[str, Any]:
    """One entry of GET /deployments/{id}/steps: what the plan said of the step, and how its run went."""
    step, planned = row.run, row.planned
    return {
        "step_id": step.step_id, "name": step.name, "action": step.action, "wave": step.wave,
        "phase": step.phase_name, "provider": row.provider,
        "region": planned.get("region", step.resource.get("region", "")),
        "resource_type": row.resource_type, "resource_identifier": step.resource_identifier,
        "dependencies": planned.get("dependencies", []),
        "estimated_duration_seconds": planned.get("estimated_duration_seconds"),
        "monthly_cost": planned.get("monthly_cost"), "changed_paths": planned.get("changed_paths", []),
        "owner_stack": planned.get("owner_stack"),
        "status": step.status.value, "attempt_number": step.attempt,
        "provider_resource_id": step.provider_resource_id, "error_message": step.error_message,
        "started_at": _time(step.started_at), "finished_at": _time(step.finished_at),
        "duration_seconds": step.duration_seconds, "rolled_back": step.undone_at is not None,
    }


def step_counts_view(d: DeploymentSummary, counts: StepCounts) -> dict[str, Any]:
    return {
        "total": counts.total, "by_status": counts.by_status, "by_action": counts.by_action,
        "applied": counts.applied, "rolled_back": counts.rolled_back, "wave_count": counts.wave_count,
        # Waves are 0-based, as each step's `wave`.
        "current_wave": counts.first_open_wave if d.status == DeploymentStatus.EXECUTING else None,
    }


def progress(deployment: DeploymentSummary, counts: StepCounts) -> float:
    if deployment.status == DeploymentStatus.COMPLETED:
        return 100.0
    work = sum(counts.work_by_status.values())
    if not work:
        return 0.0
    return round(100.0 * counts.work_by_status.get(StepStatus.SUCCEEDED.value, 0) / work, 1)


def deployment_summary(d: Deployment | DeploymentSummary) -> dict[str, Any]:
    s = DeploymentSummary.of(d) if isinstance(d, Deployment) else d
    return {
        "id": s.id, "name": s.name, "description": s.description, "status": s.status.value,
        "environment": s.environment, "strategy": s.strategy, "providers": s.providers, "tenant_id": s.tenant_id,
        "initiated_by": s.initiated_by, "created_at": _time(s.created_at), "updated_at": _time(s.updated_at),
        "execution_arn": s.execution_arn, "error_message": s.error_message, "resource_count": s.resource_count,
        "phase": s.phase, "phase_ends_at": _time(s.phase_ends_at),
    }


def deployment_view(o: Overview, stage: str = "") -> dict[str, Any]:
    """GET /deployments/{id}: bounded whatever the deployment's size; its steps and events are collections, linked
    by path (behind the `stage` path, if any, as Location)."""
    d, approval = o.deployment.summary, o.deployment.approval
    base = f"{stage}/api/v1/deployments/{d.id}"
    return {
        **deployment_summary(d),
        "progress_percentage": progress(d, o.steps),
        "plan": plan_view(o.plan, o.steps) if o.plan else None,
        "steps": step_counts_view(d, o.steps),
        "links": {"self": base, "steps": f"{base}/steps", "events": f"{base}/events",
                  "terraform": f"{base}/terraform"},
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
        "version": resource.version, "dependencies": resource.dependencies, "health": resource.health,
        "unhealthy_at": _time(resource.unhealthy_at), "updated_at": _time(resource.updated_at),
    }


def resource_detail_view(resource: CloudResource, standby: StandbyResource | None) -> dict[str, Any]:
    return {**resource_view(resource), "standby": None if standby is None else {
        "provider_resource_id": standby.provider_resource_id, "role": standby.role, "health": standby.health}}


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
