"""Deployment use cases behind the HTTP API: create, read, approve, reject, cancel, execute, re-plan, roll back."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..cloud.terraform import terraform_by_provider
from ..domain.catalogue import Environment
from ..domain.errors import (
    ActionNotAllowed,
    DependencyUnavailable,
    FieldError,
    PermissionDenied,
    PolicyBlocked,
    ValidationFailed,
)
from ..domain.intent import DeploymentIntent, validate_intent
from ..domain.lifecycle import TRANSITIONS, Deployment, DeploymentStatus, DomainEvent, utcnow
from ..domain.steps import StepStatus
from ..domain.users import Permission, User
from ..ports.repositories import DeploymentHead, Page, PlanHeadline, PlannedStep, StepCounts
from .access import load_deployment, load_head, require
from .reconcile import execution_gone, restart_workflow
from .requests import ApproveBody, RejectBody, parse
from .services import Services

log = logging.getLogger(__name__)
S = DeploymentStatus
BEFORE_EXECUTION = frozenset({S.PENDING, S.PLANNING, S.PLANNED, S.AWAITING_APPROVAL, S.APPROVED})
REPLANNABLE = frozenset({S.FAILED, S.ROLLED_BACK, S.CANCELLED, S.REJECTED})
ROLLBACKABLE = frozenset({S.COMPLETED, S.FAILED})
RUNNING = frozenset({S.PENDING, S.PLANNING, S.PLANNED, S.APPROVED, S.EXECUTING, S.VERIFYING})


def create_deployment(svc: Services, user: User, payload: Any, *, correlation_id: str,
                      idempotency_key: str | None = None) -> Deployment:
    """Validate the intent, store it, and start its workflow. A repeated Idempotency-Key returns the first result."""
    require(user, Permission.DEPLOYMENT_CREATE)
    intent = validate_intent(payload)
    return submit_intent(svc, user, intent, correlation_id=correlation_id, idempotency_key=idempotency_key)


def submit_intent(svc: Services, user: User, intent: DeploymentIntent, *, correlation_id: str,
                  idempotency_key: str | None = None) -> Deployment:
    deployment = Deployment.create(intent, tenant_id=user.tenant_id, initiated_by=user.username,
                                   correlation_id=correlation_id)
    stored = svc.deployments.add(deployment, idempotency_key=idempotency_key)
    if stored.id != deployment.id:  # an earlier request with the same key created it
        return stored
    return _start(svc, stored, user.username, correlation_id, mode="deploy")


def _start(svc: Services, deployment: Deployment, actor: str, correlation_id: str, *, mode: str) -> Deployment:
    try:
        arn = svc.workflow.start(deployment_id=deployment.id, tenant_id=deployment.tenant_id,
                                 correlation_id=correlation_id, mode=mode)
    except DependencyUnavailable:
        # Leave no deployment that claims to run: record why it never started, then report the outage.
        if S.CANCELLED in TRANSITIONS[deployment.status]:
            deployment.transition(S.CANCELLED, actor=actor, correlation_id=correlation_id,
                                  error_message="the workflow engine could not be reached")
            svc.deployments.save(deployment)
        raise
    svc.deployments.set_execution_arn(deployment.id, arn)
    deployment.execution_arn = arn
    return deployment


def list_deployments(svc: Services, user: User, *, status: DeploymentStatus | None, environment: Environment | None,
                     limit: int, offset: int) -> Page:
    require(user, Permission.DEPLOYMENT_READ)
    return svc.deployments.list(user.tenant_id, status=status, environment=environment.value if environment else None,
                                limit=limit, offset=offset)


# How many entries each growing list of a deployment's summary shows (policy findings, blast radius, ...).
SUMMARY_LIST_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Overview:
    """A deployment as its summary shows it: of bounded size whatever the number of its steps."""

    deployment: DeploymentHead
    plan: PlanHeadline | None
    steps: StepCounts


def overview_of(svc: Services, deployment: Deployment | DeploymentHead) -> Overview:
    head = DeploymentHead.of(deployment) if isinstance(deployment, Deployment) else deployment
    return Overview(head, svc.deployments.plan_headline(head.summary.id, list_limit=SUMMARY_LIST_LIMIT),
                    svc.steps.counts(head.summary.id))


def deployment_overview(svc: Services, user: User, deployment_id: str) -> Overview:
    """What GET /deployments/{id} shows, read without loading the intent or any step."""
    return overview_of(svc, load_head(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_READ))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One page of a collection and the cursor of the next (None on the last page)."""

    items: list[Any]
    next_cursor: str | None


def _encode(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, shape: dict[str, type]) -> dict[str, Any]:
    """A cursor this API handed out, or 422 on `cursor`: clients pass them back, never build them."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = None
    if (not isinstance(position, dict) or set(position) != set(shape)
            or not all(type(position[k]) is kind for k, kind in shape.items())):
        raise ValidationFailed([FieldError(("query", "cursor"), "not a cursor from this collection: pass the "
                                           "next_cursor of the previous page unchanged", "value_error")])
    return position


def step_page(svc: Services, user: User, deployment_id: str, *, status: StepStatus | None, wave: int | None,
              limit: int, cursor: str | None) -> Chunk:
    """A page of the deployment's steps in step order (wave, then position), optionally of one status or wave."""
    after = _decode(cursor, {"w": int, "s": str}) if cursor else None
    load_head(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_READ)
    rows: list[PlannedStep] = svc.steps.page(
        deployment_id, after=(after["w"], after["s"]) if after else None,
        status=status.value if status else None, wave=wave, limit=limit + 1)  # one more says whether a page follows
    items = rows[:limit]
    last = items[-1].run if len(rows) > limit else None
    return Chunk(items, _encode({"w": last.wave, "s": last.step_id}) if last else None)


def deployment_events(svc: Services, user: User, deployment_id: str, *, limit: int,
                      cursor: str | None = None) -> Chunk:
    """A page of the deployment's audit trail, oldest first."""
    after = _decode(cursor, {"e": int})["e"] if cursor else 0
    load_head(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_READ)
    rows = svc.deployments.event_page(deployment_id, after=after, limit=limit + 1)
    items: list[DomainEvent] = [event for _, event in rows[:limit]]
    return Chunk(items, _encode({"e": rows[limit - 1][0]}) if len(rows) > limit else None)


def approve(svc: Services, user: User, deployment_id: str, payload: Any, *, correlation_id: str) -> Deployment:
    require(user, Permission.DEPLOYMENT_APPROVE)  # 403 before anything about the body
    comment = parse(ApproveBody, payload).comment
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_APPROVE)
    plan = svc.deployments.get_plan(deployment.id) if deployment.status == S.AWAITING_APPROVAL else None
    if plan is not None and plan.soft_blocked and deployment.approval.overridden_by is None:
        rules = ", ".join(sorted({f.rule_id for f in plan.policy.overridable}))
        raise PolicyBlocked(f"the plan is blocked until an admin overrides it ({rules}): "
                            f"POST /api/v1/deployments/{deployment.id}/override with a reason")
    return approve_loaded(svc, user, deployment, comment, correlation_id=correlation_id)


def approve_loaded(svc: Services, user: User, deployment: Deployment, comment: str | None, *,
                   correlation_id: str) -> Deployment:
    _decide(deployment, user, S.APPROVED)
    token = svc.deployments.approval_token(deployment.id)
    _record_decision(deployment, user, comment)
    deployment.transition(S.APPROVED, actor=user.username, correlation_id=correlation_id,
                          detail={"comment": comment} if comment else None)
    saved = svc.deployments.save(deployment, task_token=None)
    if not (token and svc.workflow.approve(token, {"approved_by": user.username})):
        # Nobody waits for the decision any more (the execution ended: a restart, a lost execution): run the
        # workflow again from here; its plan task finds the stored plan and the approval, and executes.
        restart_workflow(svc, saved, mode="deploy", actor=user.username, correlation_id=correlation_id,
                         reason="approved after the waiting execution had ended")
    return saved


def reject(svc: Services, user: User, deployment_id: str, payload: Any, *, correlation_id: str) -> Deployment:
    require(user, Permission.DEPLOYMENT_APPROVE)  # 403 before anything about the body
    reason = parse(RejectBody, payload).reason
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_APPROVE)
    _decide(deployment, user, S.REJECTED)
    token = svc.deployments.approval_token(deployment.id)
    _record_decision(deployment, user, reason)
    deployment.transition(S.REJECTED, actor=user.username, correlation_id=correlation_id,
                          detail={"reason": reason}, error_message=f"rejected by {user.username}: {reason}")
    saved = svc.deployments.save(deployment, task_token=None)
    if token:
        _tell_workflow(lambda: svc.workflow.fail_task(token, "Rejected", reason), saved)
    return saved


def _tell_workflow(call, deployment: Deployment) -> None:
    """After a decision has been committed, the workflow only needs to hear of it: if it cannot be reached now, the
    decision still stands and the scheduled sweep settles the execution."""
    try:
        call()
    except DependencyUnavailable:
        log.warning("the workflow of deployment %s was not told; the sweep settles it", deployment.id)


def _decide(deployment: Deployment, user: User, to: DeploymentStatus) -> None:
    if deployment.status != S.AWAITING_APPROVAL:
        action = "approve" if to == S.APPROVED else "reject"
        raise ActionNotAllowed(action, "deployment", deployment.status.value, [S.AWAITING_APPROVAL.value])
    # Four eyes in production: whoever asked for the change may not approve it.
    if (to == S.APPROVED and deployment.intent.environment == Environment.PRODUCTION
            and deployment.initiated_by == user.username):
        raise PermissionDenied("in production the initiator may not approve their own deployment")


def _record_decision(deployment: Deployment, user: User, comment: str | None) -> None:
    deployment.approval = deployment.approval.model_copy(update={
        "decided_by": user.username, "decided_at": utcnow(), "comment": comment})


def cancel(svc: Services, user: User, deployment_id: str, *, correlation_id: str) -> Deployment:
    """Before execution: cancelled. While executing: rolling back (the running steps notice and stop)."""
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_CANCEL)
    if deployment.status == S.EXECUTING:
        deployment.transition(S.ROLLING_BACK, actor=user.username, correlation_id=correlation_id,
                              detail={"reason": "cancelled"}, error_message=f"cancelled by {user.username}")
        saved = svc.deployments.save(deployment)
        # The running execution notices at its next step and rolls back; a gone one is replaced by a rollback run.
        _tell_workflow(lambda: _roll_back_if_gone(svc, saved, user, correlation_id), saved)
        return saved
    if deployment.status not in BEFORE_EXECUTION:
        raise ActionNotAllowed("cancel", "deployment", deployment.status.value,
                               [s.value for s in BEFORE_EXECUTION | {S.EXECUTING}])
    waiting = deployment.status == S.AWAITING_APPROVAL
    token = svc.deployments.approval_token(deployment.id) if waiting else None
    deployment.transition(S.CANCELLED, actor=user.username, correlation_id=correlation_id,
                          error_message=f"cancelled by {user.username}")
    saved = svc.deployments.save(deployment, task_token=None)
    if token:
        _tell_workflow(lambda: svc.workflow.fail_task(token, "Cancelled", f"cancelled by {user.username}"), saved)
    elif deployment.execution_arn:
        _tell_workflow(lambda: svc.workflow.stop(deployment.execution_arn, f"cancelled by {user.username}"), saved)
    return saved


def _roll_back_if_gone(svc: Services, deployment: Deployment, user: User, correlation_id: str) -> None:
    if execution_gone(svc, deployment):
        restart_workflow(svc, deployment, mode="rollback", actor=user.username, correlation_id=correlation_id,
                         reason="cancelled after the executing workflow had ended")


def execute(svc: Services, user: User, deployment_id: str, *, correlation_id: str) -> Deployment:
    """Kept from the original API: approve when waiting; report the run when it is already running."""
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_APPROVE)
    if deployment.status == S.AWAITING_APPROVAL:
        return approve(svc, user, deployment_id, {}, correlation_id=correlation_id)
    if deployment.status in RUNNING:
        return deployment
    raise ActionNotAllowed("execute", "deployment", deployment.status.value,
                           [S.AWAITING_APPROVAL.value, *(s.value for s in RUNNING)])


def replan(svc: Services, user: User, deployment_id: str, *, correlation_id: str) -> Deployment:
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_CREATE)
    if deployment.status not in REPLANNABLE:
        raise ActionNotAllowed("re-plan", "deployment", deployment.status.value, [s.value for s in REPLANNABLE])
    deployment.transition(S.PENDING, actor=user.username, correlation_id=correlation_id)
    deployment.approval = deployment.approval.model_copy(
        update={"requested_at": None, "decided_by": None, "decided_at": None, "comment": None,
                "overridden_by": None, "override_reason": None})
    saved = svc.deployments.save(deployment)
    return _start(svc, saved, user.username, correlation_id, mode="deploy")


def rollback(svc: Services, user: User, deployment_id: str, *, correlation_id: str) -> Deployment:
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_ROLLBACK)
    if deployment.status not in ROLLBACKABLE:
        raise ActionNotAllowed("roll back", "deployment", deployment.status.value,
                               [s.value for s in ROLLBACKABLE])
    deployment.transition(S.ROLLING_BACK, actor=user.username, correlation_id=correlation_id,
                          detail={"reason": "requested"})
    saved = svc.deployments.save(deployment)
    return _start(svc, saved, user.username, correlation_id, mode="rollback")


def terraform(svc: Services, user: User, deployment_id: str) -> dict[str, Any]:
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_READ)
    return terraform_by_provider(deployment.intent.resources)
