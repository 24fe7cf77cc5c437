"""What each task of the lifecycle state machine does. Every task writes its transition and audit events to the
database itself, so the API never reads execution history, and every task is safe to run twice (Step Functions
retries on transient errors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import groupby
from typing import Any

from ..domain.errors import (
    Cancelled,
    ConcurrencyConflict,
    DependencyUnavailable,
    HealthCheckFailed,
    LockBusy,
    NotFound,
    ProviderError,
    StalePlan,
)
from ..domain.intent import ResourceSpec
from ..domain.lifecycle import SETTLED, TRANSITIONS, Deployment, DeploymentStatus, DomainEvent, EventType, utcnow
from ..domain.resources import CloudResource
from ..domain.steps import StepRun, StepStatus
from ..planning.plan import SEGMENTS, Plan, PolicyFinding, StepAction
from ..planning.policy import RESOURCE_CLAIMED
from ..planning.schedule import Schedule, batch_parallelism, schedule, schedule_phases
from ..ports.locks import resource_lock
from ..ports.repositories import Claim
from .plans import plan_intent
from .services import Services

S = DeploymentStatus
WORKFLOW = "workflow"
VERIFY_PAGE = 1_000


def _load(svc: Services, deployment_id: str) -> Deployment:
    deployment = svc.deployments.get(deployment_id)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} not found")
    return deployment


def _max_concurrency(svc: Services, deployment: Deployment) -> int:
    return min(deployment.intent.max_concurrency, svc.settings.max_concurrency)


def _pack(plan: Plan) -> tuple[Schedule, list[str]]:
    """The plan's segments packed into stages of batches, deterministically (a stored plan packs the same again)."""
    segments = plan.segment_waves()
    return schedule_phases(list(segments.values())), list(segments)


def _compact(svc: Services, deployment: Deployment, plan: Plan,
             packed: tuple[Schedule, list[str]] | None = None) -> dict[str, Any]:
    """What the state machine carries."""
    intent = deployment.intent
    packed_schedule, names = packed or _pack(plan)
    return {
        "plan_id": plan.plan_id,
        "blocked": plan.blocked,
        "no_changes": deployment.status == S.COMPLETED and not plan.has_changes,
        # A workflow restarted after its approval was recorded goes straight on to execution.
        "requires_approval": plan.requires_approval and deployment.status in (S.PLANNED, S.AWAITING_APPROVAL),
        # How the strategy's segments are walked: canary and blue_green have their own states, the others one rollout.
        "route": "canary" if "canary" in names else "blue_green" if "switch" in names else "rollout",
        # Per segment, batch numbers only, never step ids: the state stays small whatever the plan's size. Every
        # segment is present (empty when the strategy has none), so each state's path always resolves.
        "segments": {name: {"name": name, "stages": packed_schedule.phase_stages(names.index(name))
                            if name in names else []} for name in SEGMENTS},
        "max_concurrency": _max_concurrency(svc, deployment),
        "approval_timeout_seconds": intent.approval_timeout_seconds or svc.settings.approval_timeout_seconds,
        "rollback_on_failure": intent.rollback_on_failure,
    }


def plan_deployment(svc: Services, deployment_id: str, correlation_id: str) -> dict[str, Any]:
    deployment = _load(svc, deployment_id)
    if deployment.status == S.CANCELLED:
        raise Cancelled(f"deployment {deployment_id} was cancelled")
    if deployment.status != S.PENDING and deployment.plan_id:
        # A retried invocation, or a restarted workflow: the plan is already stored.
        return _compact(svc, deployment, svc.deployments.get_plan(deployment_id))
    deployment.transition(S.PLANNING, actor=WORKFLOW, correlation_id=correlation_id)
    stack = deployment.intent.name
    plan, live = plan_intent(svc, deployment.tenant_id, deployment.intent, deployment_id=deployment.id)
    if not plan.blocked:
        held = svc.deployments.claim(deployment.tenant_id, deployment.id,
                                     [step.resource_identifier for step in plan.steps])
        if held:
            plan = _blocked_by_claims(plan, held)
    before = {resource.identifier: resource.model_dump(mode="json") for resource in live}
    packed = _pack(plan)
    batch_of = packed[0].batch_of
    phase_of = {sid: {"phase": index, "phase_name": phase.name}
                for index, phase in enumerate(plan.phases) for sid in phase.steps}
    create = StepAction.CREATE
    steps = [
        StepRun(step_id=step.step_id, deployment_id=deployment.id, tenant_id=deployment.tenant_id,
                idempotency_key=step.idempotency_key, name=step.name, action=step.action.value, wave=step.wave,
                batch=batch_of.get(step.step_id), resource_identifier=step.resource_identifier,
                resource=step.resource, stack=stack,
                # A create starts from nothing (recreate's follows its destroy), so its undo removes what it made.
                before=None if step.action is create else before.get(step.resource_identifier),
                **phase_of.get(step.step_id, {}))
        for step in plan.steps
    ]
    deployment.plan_id = plan.plan_id
    summary = {"plan_id": plan.plan_id, "steps": len(plan.steps), "waves": len(plan.waves),
               "estimated_monthly_cost": plan.estimated_monthly_cost, "risk": plan.risk_assessment}
    if plan.blocked:
        reasons = "; ".join(v.message for v in plan.policy.violations)
        deployment.transition(S.FAILED, actor=WORKFLOW, correlation_id=correlation_id, detail=summary,
                              error_message=f"blocked by policy: {reasons}")
    else:
        if plan.auto_approve_overridden:
            summary["auto_approve_overridden"] = True
        if plan.soft_blocked:
            summary["awaiting_override"] = sorted({f.rule_id for f in plan.policy.overridable})
        deployment.approval = deployment.approval.model_copy(update={"required": plan.requires_approval})
        deployment.transition(S.PLANNED, actor=WORKFLOW, correlation_id=correlation_id, detail=summary)
        if not plan.has_changes:  # nothing to approve or apply: done
            deployment.approval = deployment.approval.model_copy(update={"required": False})
            deployment.record(EventType.NO_CHANGES, actor=WORKFLOW, correlation_id=correlation_id,
                              detail={"steps": len(plan.steps)})
            deployment.transition(S.COMPLETED, actor=WORKFLOW, correlation_id=correlation_id)
    svc.deployments.save(deployment, plan=plan, steps=steps)
    if plan.blocked:
        _publish(svc, "DeploymentPolicyBlocked", deployment, correlation_id)
    elif deployment.status == S.COMPLETED:
        _publish(svc, "DeploymentCompleted", deployment, correlation_id)
    return _compact(svc, deployment, plan, packed)


def _publish(svc: Services, detail_type: str, deployment: Deployment, correlation_id: str) -> None:
    """A domain event on the bus (best effort: the database holds the truth); notifications follow from it."""
    svc.events.publish(detail_type, {
        "deployment_id": deployment.id, "tenant_id": deployment.tenant_id, "name": deployment.intent.name,
        "environment": deployment.intent.environment.value, "status": deployment.status.value,
        "error_message": deployment.error_message, "correlation_id": correlation_id,
    })


def _blocked_by_claims(plan, held: list[Claim]):
    findings = [PolicyFinding(rule_id=RESOURCE_CLAIMED, resource_identifier=claim.resource_identifier,
                              severity="block",
                              message=f"{claim.resource_identifier} is claimed by deployment {claim.deployment_id} "
                                      f"('{claim.name}', {claim.status}) until it finishes")
                for claim in held]
    holders = sorted({claim.deployment_id for claim in held})
    return plan.blocked_by(findings, f"Another in-flight deployment ({', '.join(holders)}) holds "
                                     f"{len(held)} of its resources, so it cannot run now.")


def request_approval(svc: Services, deployment_id: str, task_token: str, correlation_id: str) -> dict[str, Any]:
    deployment = _load(svc, deployment_id)
    requested = deployment.status == S.PLANNED
    if requested:
        deployment.approval = deployment.approval.model_copy(update={"required": True, "requested_at": utcnow()})
        deployment.transition(S.AWAITING_APPROVAL, actor=WORKFLOW, correlation_id=correlation_id)
    elif deployment.status != S.AWAITING_APPROVAL:  # retried after a decision, or cancelled meanwhile
        raise Cancelled(f"deployment {deployment_id} is {deployment.status.value}, not waiting for approval")
    svc.deployments.save(deployment, task_token=task_token)
    if requested:  # once, not on a retried invocation
        _publish(svc, "DeploymentAwaitingApproval", deployment, correlation_id)
    return {"status": deployment.status.value}


def begin_execution(svc: Services, deployment_id: str, correlation_id: str) -> dict[str, Any]:
    """`wait_until` (ISO 8601 UTC) when a queue-mode freeze window is in force: the state machine waits until then
    and comes back here; `PolicyBlocked` when policies or a block-mode window stop the run."""
    deployment = _load(svc, deployment_id)
    if deployment.status in (S.CANCELLED, S.ROLLING_BACK):
        raise Cancelled(f"deployment {deployment_id} was cancelled")
    if deployment.status in (S.PLANNED, S.APPROVED):
        plan = svc.deployments.get_plan(deployment_id)
        from .policies import execution_gate  # the policy engine loads only in the function that begins a run

        wait_until = execution_gate(svc, deployment, plan) if plan is not None else None
        if wait_until is not None:
            return {"status": deployment.status.value, "wait_until": wait_until}
    if deployment.status == S.PLANNED:  # no person needed: the plan allowed auto-approval
        deployment.transition(S.APPROVED, actor="auto-approve", correlation_id=correlation_id)
    if deployment.status == S.APPROVED:
        deployment.transition(S.EXECUTING, actor=WORKFLOW, correlation_id=correlation_id)
        svc.deployments.save(deployment)
    return {"status": deployment.status.value, "wait_until": None}


def _step(svc: Services, deployment_id: str, step_id: str) -> StepRun:
    step = svc.steps.get(deployment_id, step_id)
    if step is None:
        raise NotFound(f"step {step_id} of deployment {deployment_id} not found")
    return step


def _spec(step: StepRun) -> ResourceSpec:
    return ResourceSpec.model_validate(step.resource)


def _ensure_executing(svc: Services, deployment_id: str) -> None:
    status = svc.deployments.status(deployment_id)
    if status != S.EXECUTING:
        raise Cancelled(f"deployment {deployment_id} is {status}; step not applied")


# Failures a retry of the batch may cure; any other failure is reported first, so the run stops sooner.
_TRANSIENT = (LockBusy, DependencyUnavailable, ConcurrencyConflict)


def run_batch(svc: Services, deployment_id: str, batch: int, run_step: Callable[[str], dict[str, Any]], *,
              undo: bool = False, stage_width: int = 1, max_concurrency: int = 1) -> dict[str, Any]:
    """Run one batch of a stage: its steps phase by phase and wave by wave (newest first for an undo), each wave's
    steps in parallel up to the batch's share of max_concurrency, each through `run_step(step_id)` (the idempotent
    apply or undo), then (applying) a health check of what the wave changed. Steps already done are skipped, so a
    retried batch re-runs only the rest. When steps fail, the batch's other steps of that wave still finish, no
    later wave starts, and one failure is raised for the state machine's Retry and Catch."""
    steps = svc.steps.in_batch(deployment_id, batch, undo=undo)
    if not steps:
        raise NotFound(f"batch {batch} of deployment {deployment_id} has no steps")
    parallel = batch_parallelism(max_concurrency, stage_width)
    results: list[dict[str, Any]] = []
    phase: str | None = None
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for _, group in groupby(steps, key=lambda step: (step.phase, step.wave)):
            group = list(group)
            if not undo and group[0].phase_name != phase:
                phase = group[0].phase_name
                svc.deployments.set_phase(deployment_id, phase)
            todo = [step.step_id for step in group
                    if (step.undone_at is None if undo else step.status != StepStatus.SUCCEEDED)]
            errors: list[Exception] = []
            for outcome in pool.map(_capture(run_step), todo):
                (errors if isinstance(outcome, Exception) else results).append(outcome)
            if errors:
                raise next((e for e in errors if not isinstance(e, _TRANSIENT)), errors[0])
            if not undo:
                check_health(svc, group)
    return {"batch": batch, "steps": len(steps), "ran": len(results), "results": results}


# What a health check looks at after a step: the serving instance it changed, or the green instance it staged.
_SERVING_CHECKED = frozenset({StepAction.CREATE.value, StepAction.UPDATE.value, StepAction.SWITCH.value})
_STANDBY_CHECKED = frozenset({StepAction.GREEN.value})


def check_health(svc: Services, steps: list[StepRun], *, since: Any = None) -> None:
    """Raise `HealthCheckFailed` naming the resources of `steps` that are unhealthy (or missing) now, or became
    unhealthy at or after `since`."""
    if not steps:
        return
    tenant_id = steps[0].tenant_id
    serving = [s.resource_identifier for s in steps if s.action in _SERVING_CHECKED]
    standby = [s.resource_identifier for s in steps if s.action in _STANDBY_CHECKED]
    bad = [*(svc.provider.unhealthy(tenant_id, serving, since=since) if serving else []),
           *(f"{identifier} (green)" for identifier in
             (svc.provider.unhealthy(tenant_id, standby, since=since, standby=True) if standby else []))]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        where = steps[0].phase_name or f"wave {steps[0].wave}"
        raise HealthCheckFailed(f"health check failed after {where}: {shown} unhealthy")


def _capture(run_step: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any] | Exception]:
    def run(step_id: str) -> dict[str, Any] | Exception:
        try:
            return run_step(step_id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the batch, after its wave ends
            return exc
    return run


def apply_step(svc: Services, deployment_id: str, step_id: str, correlation_id: str) -> dict[str, Any]:
    """Apply one step under its resource lock. A failed attempt is recorded and re-raised for the Retry."""
    step = _step(svc, deployment_id, step_id)
    if step.status == StepStatus.SUCCEEDED:
        return _step_summary(step)
    with svc.locks.hold(resource_lock(step.tenant_id, step.resource_identifier)) as lease:
        step = _step(svc, deployment_id, step_id)  # fresh, now that we hold the resource
        if step.status == StepStatus.SUCCEEDED:
            return _step_summary(step)
        attempt = step.begin_attempt()
        svc.steps.save(step, lease=lease)
        # Checked only once the step is recorded as running, so a rollback started by a cancel after this check
        # lists this step and undoes it; a cancel that landed before wins and nothing is applied.
        _ensure_executing(svc, deployment_id)
        try:
            current = _unchanged_since_plan(svc, step)
            resource_id = _run_provider(svc, step, attempt)
        except (ProviderError, StalePlan) as exc:
            step.fail(str(exc))
            svc.steps.save(step, lease=lease)
            _record(svc, EventType.STEP_FAILED, correlation_id, step, error=str(exc))
            raise
        step.succeed(resource_id)
        svc.steps.save(step, lease=lease)
    _record(svc, EventType.STEP_SUCCEEDED, correlation_id, step)
    if step.action == StepAction.SWITCH.value:
        _record_switch(svc, correlation_id, step)
    if current is not None and current.stack not in (None, step.stack) and step.action != StepAction.DESTROY.value:
        _record_adoption(svc, correlation_id, step, current)
    return _step_summary(step)


def _unchanged_since_plan(svc: Services, step: StepRun) -> CloudResource | None:
    """The live record, if it is still what the plan saw (or what this deployment itself wrote on an earlier
    attempt); otherwise `StalePlan`: applying would overwrite a change nobody reviewed."""
    current = svc.inventory.get(step.tenant_id, step.resource_identifier)
    if current is not None and current.deployment_id == step.deployment_id:
        return current
    seen = step.before
    where = step.resource_identifier
    if seen is None:
        if current is not None:
            raise StalePlan(f"{where} was created by {_writer(current)} after the plan was made; re-plan")
        return None
    if current is None:
        if step.action == StepAction.DESTROY.value:
            return None  # already gone: what the step wanted
        raise StalePlan(f"{where} was removed after the plan was made; re-plan")
    if current.version != seen.get("version", current.version) or current.stack != seen.get("stack"):
        raise StalePlan(f"{where} was changed by {_writer(current)} after the plan was made "
                        f"(version {seen.get('version')} then, {current.version} now); re-plan")
    return current


def _writer(resource: CloudResource) -> str:
    if resource.deployment_id is None:
        return "hand (outside any deployment)"
    return f"deployment {resource.deployment_id} of stack '{resource.stack}'"


def _record_adoption(svc: Services, correlation_id: str, step: StepRun, previous: CloudResource) -> None:
    """In both stacks' audit trails: the adopting deployment's and the one that last wrote it for the old stack."""
    detail = {"resource": step.resource_identifier, "from_stack": previous.stack, "to_stack": step.stack,
              "adopted_by": step.deployment_id, "previous_deployment": previous.deployment_id}
    events = [DomainEvent(type=EventType.RESOURCE_ADOPTED, deployment_id=deployment, at=utcnow(), actor=WORKFLOW,
                          correlation_id=correlation_id, detail=detail)
              for deployment in dict.fromkeys(filter(None, (step.deployment_id, previous.deployment_id)))]
    svc.deployments.append_events(events, step.tenant_id)


def _record_switch(svc: Services, correlation_id: str, step: StepRun) -> None:
    """What now routes to the green instance: the records that depend on the resource (load balancers, DNS, CDNs
    reach it by its identifier, which now resolves to green)."""
    routes = sorted({d.identifier for d in svc.inventory.dependents(step.tenant_id, step.stack or "",
                                                                    [step.resource_identifier])
                     if step.resource_identifier in d.dependencies})
    result = step.result or {}
    _record(svc, EventType.TRAFFIC_SWITCHED, correlation_id, step, serving=result.get("serving"),
            previous=result.get("previous"), routes=routes)


def _run_provider(svc: Services, step: StepRun, attempt: int) -> str | None:
    action = StepAction(step.action)
    if action == StepAction.NO_OP:
        return (step.before or {}).get("provider_resource_id")
    if action == StepAction.DESTROY:
        svc.provider.destroy(tenant_id=step.tenant_id, identifier=step.resource_identifier,
                             idempotency_key=step.idempotency_key)
        return None
    where = {"tenant_id": step.tenant_id, "identifier": step.resource_identifier,
             "idempotency_key": step.idempotency_key}
    if action == StepAction.GREEN:  # staged next to the serving instance, which keeps serving
        outcome = svc.provider.create_standby(tenant_id=step.tenant_id, deployment_id=step.deployment_id,
                                              spec=_spec(step), idempotency_key=step.idempotency_key,
                                              attempt=attempt, stack=step.stack)
        step.result = outcome.model_dump(mode="json")
        return outcome.provider_resource_id
    if action == StepAction.SWITCH:
        step.result = svc.provider.switch(**where).model_dump(mode="json")
        return step.result.get("serving")
    if action == StepAction.RETIRE:
        svc.provider.destroy_standby(**where)
        return None
    outcome = svc.provider.apply(tenant_id=step.tenant_id, deployment_id=step.deployment_id, spec=_spec(step),
                                 idempotency_key=step.idempotency_key, attempt=attempt, stack=step.stack)
    step.result = outcome.model_dump(mode="json")
    return outcome.provider_resource_id


def _step_summary(step: StepRun) -> dict[str, Any]:
    return {"step_id": step.step_id, "status": step.status.value, "attempt": step.attempt,
            "duration_seconds": step.duration_seconds}


def _record(svc: Services, event: EventType, correlation_id: str, step: StepRun, **extra: Any) -> None:
    detail = {"step_id": step.step_id, "resource": step.resource_identifier, "action": step.action,
              "attempt": step.attempt, **extra}
    svc.deployments.append_events([DomainEvent(type=event, deployment_id=step.deployment_id, at=utcnow(),
                                               actor=WORKFLOW, correlation_id=correlation_id, detail=detail)],
                                  step.tenant_id)


def undo_step(svc: Services, deployment_id: str, step_id: str, correlation_id: str) -> dict[str, Any]:
    """Put the resource back as the plan found it: remove what the step created, restore what it changed, but only
    while the record is still as this deployment left it. Anything else (another stack owns it, somebody changed
    it since) is left alone and recorded as `undo_skipped`: a rollback never removes what is not its own."""
    step = _step(svc, deployment_id, step_id)
    if step.undone_at is not None:
        return _step_summary(step)
    with svc.locks.hold(resource_lock(step.tenant_id, step.resource_identifier)) as lease:
        step = _step(svc, deployment_id, step_id)
        if step.undone_at is None:
            current = svc.inventory.get(step.tenant_id, step.resource_identifier)
            undo = _undo_for(step, current) if step.action not in _BLUE_GREEN else _undo_blue_green(svc, step, current)
            if undo == "switch back":
                svc.provider.switch_back(tenant_id=step.tenant_id, identifier=step.resource_identifier,
                                         idempotency_key=f"{step.idempotency_key}:undo")
            elif undo == "destroy green":
                svc.provider.destroy_standby(tenant_id=step.tenant_id, identifier=step.resource_identifier,
                                             idempotency_key=f"{step.idempotency_key}:undo")
            elif undo == "restore":
                svc.inventory.upsert(CloudResource.model_validate(step.before))
            elif undo == "destroy":
                svc.provider.destroy(tenant_id=step.tenant_id, identifier=step.resource_identifier,
                                     idempotency_key=f"{step.idempotency_key}:undo")
            elif undo != "nothing":
                _record(svc, EventType.UNDO_SKIPPED, correlation_id, step, reason=undo)
            if step.status in (StepStatus.RUNNING, StepStatus.ACQUIRED):
                # Its worker died mid-attempt (this task holds the lock it held): settle it, never leave it running.
                step.time_out() if step.status == StepStatus.RUNNING else step.cancel()
            step.undone_at = utcnow()
            svc.steps.save(step, lease=lease)
    return _step_summary(step)


_BLUE_GREEN = frozenset({StepAction.GREEN.value, StepAction.SWITCH.value, StepAction.RETIRE.value})


def _undo_blue_green(svc: Services, step: StepRun, current: CloudResource | None) -> str:
    """Blue/green undoes in reverse: traffic goes back to blue while blue is there (else the serving record is
    restored in place, as an update's undo), then green is destroyed; a retired blue cannot come back."""
    if step.status not in (StepStatus.SUCCEEDED, StepStatus.RUNNING, StepStatus.ACQUIRED):
        return "nothing"
    ours = current is not None and current.deployment_id == step.deployment_id
    if step.action == StepAction.RETIRE.value:
        return "nothing" if step.status != StepStatus.SUCCEEDED else "blue was retired; it cannot be switched back to"
    standby = svc.provider.standby(step.tenant_id, step.resource_identifier)
    if step.action == StepAction.SWITCH.value:
        if not ours:
            return "nothing" if current is not None and current.version == (step.before or {}).get("version") \
                else "changed since by someone else; not switched back"
        if standby is not None and standby.deployment_id != step.deployment_id:
            return "switch back"
        return _undo_for(step, current)  # blue is gone: put its record back in place
    # green: remove the staged instance while it is this deployment's and does not serve
    if standby is not None and standby.deployment_id == step.deployment_id and not ours:
        return "destroy green"
    return "nothing"


def _undo_for(step: StepRun, current: CloudResource | None) -> str:
    """"restore" (put `before` back), "destroy", "nothing" (nothing of this step is there), or why the undo must
    leave the resource alone."""
    before = step.before
    untouched = before is not None and current is not None and current.version == before.get("version") \
        and current.deployment_id == before.get("deployment_id")
    if step.action == StepAction.DESTROY.value:
        if current is None:
            return "restore"
        return "nothing" if untouched else f"re-created since by {_writer(current)}; not restored over it"
    if current is None:
        return "nothing" if before is None else "removed since by someone else; not restored"
    if current.deployment_id != step.deployment_id:
        return "nothing" if untouched else f"changed since by {_writer(current)}"
    applied = (step.result or {}).get("version")
    if applied is not None and current.version != applied:
        return f"changed since this deployment applied it (version {applied} then, {current.version} now)"
    return "restore" if before is not None else "destroy"


# Steps whose spec is what the resource must hold once the run is done (a green step's serves after the switch).
_DESIRED = frozenset({StepAction.CREATE.value, StepAction.UPDATE.value, StepAction.GREEN.value})


def _verify_specs(svc: Services, tenant_id: str, specs: list[ResourceSpec], *, standby: bool = False) -> None:
    # In pages, so a 10,000-resource deployment is checked in a few reads, never one per resource.
    for start in range(0, len(specs), VERIFY_PAGE):
        svc.provider.verify_many(tenant_id=tenant_id, specs=specs[start:start + VERIFY_PAGE], standby=standby)


def verify(svc: Services, deployment_id: str, correlation_id: str) -> dict[str, Any]:
    deployment = _load(svc, deployment_id)
    if deployment.status == S.EXECUTING:
        deployment.transition(S.VERIFYING, actor=WORKFLOW, correlation_id=correlation_id)
        deployment = svc.deployments.save(deployment)
    elif deployment.status != S.VERIFYING:
        raise Cancelled(f"deployment {deployment_id} is {deployment.status.value}; not verified")
    svc.deployments.set_phase(deployment_id, "verify")
    specs = [_spec(step) for step in svc.steps.list(deployment_id) if step.action in _DESIRED]
    _verify_specs(svc, deployment.tenant_id, specs)
    checked = len(specs)
    deployment.record(EventType.VERIFIED, actor=WORKFLOW, correlation_id=correlation_id,
                      detail={"resources_checked": checked})
    svc.deployments.append_events(deployment.pull_events(), deployment.tenant_id)
    return {"resources_checked": checked}


def verify_phase(svc: Services, deployment_id: str, phase: str, correlation_id: str) -> dict[str, Any]:
    """After the canary, green or switch phase: read the phase's resources back (green: the staged instances) and
    check their health; then, unless green is next to be switched to, start the bake. Returns the next wait."""
    deployment = _load(svc, deployment_id)
    _ensure_executing(svc, deployment_id)
    steps = svc.steps.in_phase(deployment_id, phase)
    staged = phase == "green"
    verified = [step for step in steps if step.action in _DESIRED or step.action == StepAction.SWITCH.value]
    specs = [_spec(step) for step in verified if (step.action == StepAction.GREEN.value) == staged]
    _verify_specs(svc, deployment.tenant_id, specs, standby=staged)
    check_health(svc, verified)
    detail = {"phase": phase, "resources_checked": len(specs)}
    events = [DomainEvent(type=EventType.PHASE_VERIFIED, deployment_id=deployment_id, at=utcnow(), actor=WORKFLOW,
                          correlation_id=correlation_id, detail=detail)]
    if staged:
        svc.deployments.append_events(events, deployment.tenant_id)
        return {"wait_seconds": 0, "done": True}
    bake = deployment.intent.strategy_options.bake_seconds
    if svc.settings.bake_seconds_cap is not None:
        bake = min(bake, svc.settings.bake_seconds_cap)
    started = utcnow()
    ends = started + timedelta(seconds=bake)
    svc.deployments.set_phase(deployment_id, "bake", started_at=started, ends_at=ends)
    events.append(DomainEvent(type=EventType.BAKE_STARTED, deployment_id=deployment_id, at=started, actor=WORKFLOW,
                              correlation_id=correlation_id,
                              detail={"phase": phase, "bake_seconds": bake, "ends_at": ends.isoformat()}))
    svc.deployments.append_events(events, deployment.tenant_id)
    return _bake_wait(svc, started, ends)


def watch_bake(svc: Services, deployment_id: str, phase: str, correlation_id: str) -> dict[str, Any]:
    """During the bake: fail when a baked resource is unhealthy now or was at any moment since the bake started
    (`HealthCheckFailed`: the deployment rolls back); else the next wait, `done` once the bake is over."""
    deployment = _load(svc, deployment_id)
    _ensure_executing(svc, deployment_id)
    if deployment.phase != "bake" or deployment.phase_started_at is None or deployment.phase_ends_at is None:
        raise Cancelled(f"deployment {deployment_id} is not baking (phase {deployment.phase})")
    check_health(svc, svc.steps.in_phase(deployment_id, phase), since=deployment.phase_started_at)
    return _bake_wait(svc, deployment.phase_started_at, deployment.phase_ends_at)


# Each check of a bake costs 9 history events (Wait, task, Choice): a day-long bake is checked at most this often,
# so it stays far inside the execution's 25,000.
MAX_BAKE_CHECKS = 200


def _bake_wait(svc: Services, started: Any, ends: Any) -> dict[str, Any]:
    left = max(0.0, (ends - utcnow()).total_seconds())
    every = max(svc.settings.bake_check_seconds, -(-(ends - started).total_seconds() // MAX_BAKE_CHECKS))
    return {"wait_seconds": int(min(-(-left // 1), every)), "done": left <= 0}


def _error_text(error: Any) -> str:
    """The readable part of a Step Functions error object {"Error", "Cause"}; a Lambda's Cause is its JSON
    error payload."""
    if not isinstance(error, dict):
        return str(error or "unknown error")
    name, cause = error.get("Error", "Error"), error.get("Cause", "")
    try:
        cause = json.loads(cause).get("errorMessage", cause)
    except (TypeError, ValueError, AttributeError):
        pass
    return f"{name}: {cause}" if cause else str(name)


def finalize(svc: Services, deployment_id: str, outcome: str, correlation_id: str, *, error: Any = None,
             reason: str | None = None) -> dict[str, Any]:
    """Record where the workflow ended. Tolerates repeats and a deployment a person already settled."""
    if outcome == "executing":
        return begin_execution(svc, deployment_id, correlation_id)
    if outcome == "rolling_back":
        return start_rollback(svc, deployment_id, correlation_id, error=error)
    deployment = _load(svc, deployment_id)
    target = S(outcome)
    if deployment.status == target or (deployment.status in SETTLED and target != S.COMPLETED
                                       and target != S.ROLLED_BACK):
        return {"status": deployment.status.value}
    message = None
    if target in (S.FAILED, S.CANCELLED):
        message = " - ".join(part for part in (reason, _error_text(error) if error else None) if part)
    if target == S.FAILED:
        target = _failure_state(deployment, correlation_id)
    deployment.transition(target, actor=WORKFLOW, correlation_id=correlation_id,
                          detail={"reason": reason} if reason else None, error_message=message or None)
    svc.deployments.save(deployment)
    svc.deployments.set_phase(deployment_id, None)
    if target in (S.COMPLETED, S.FAILED, S.ROLLED_BACK):
        _publish(svc, f"Deployment{target.value.title().replace('_', '')}", deployment, correlation_id)
    return {"status": deployment.status.value}


def _failure_state(deployment: Deployment, correlation_id: str) -> DeploymentStatus:
    """Where a failure lands from the current state: `failed` where the lifecycle allows it; before anything was
    applied, `cancelled` (the lifecycle has no planned -> failed); from pending, through planning."""
    if deployment.status == S.PENDING:
        deployment.transition(S.PLANNING, actor=WORKFLOW, correlation_id=correlation_id)
    allowed = TRANSITIONS[deployment.status]
    return S.FAILED if S.FAILED in allowed else S.CANCELLED


def start_rollback(svc: Services, deployment_id: str, correlation_id: str, *, error: Any = None) -> dict[str, Any]:
    deployment = _load(svc, deployment_id)
    if deployment.status != S.ROLLING_BACK:
        deployment.transition(S.ROLLING_BACK, actor=WORKFLOW, correlation_id=correlation_id,
                              detail={"cause": _error_text(error)} if error else None,
                              error_message=_error_text(error) if error else None)
        svc.deployments.save(deployment)
    svc.deployments.set_phase(deployment_id, "rollback")
    # Steps that changed something (or may still be finishing), newest phase and wave first, packed like the apply.
    waves: dict[tuple[int, int], list[str]] = {}
    for step in svc.steps.list(deployment_id):
        if step.undone_at is None and step.action != StepAction.NO_OP.value and step.status in (
                StepStatus.SUCCEEDED, StepStatus.RUNNING, StepStatus.ACQUIRED):
            waves.setdefault((step.phase, step.wave), []).append(step.step_id)
    packed = schedule([waves[w] for w in sorted(waves, reverse=True)])
    svc.steps.assign_undo_batches(deployment_id, packed.batch_of)
    return {"stages": packed.stages, "max_concurrency": _max_concurrency(svc, deployment)}
