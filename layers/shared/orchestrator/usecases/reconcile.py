"""Recover deployments whose workflow ended without saying so.

Every task records its own outcome, but an execution can end without it: the local cloud stopped mid-run, an
execution stopped by hand, the database down through all its retries. The deployment then still reads, say,
`executing`, with resources applied and steps `running`. The scheduled sweep finds those: a deployment that may
have applied something is rolled back by a new execution of the state machine in rollback mode (so the inventory
ends as it was); one that had applied nothing is marked failed.
"""

from __future__ import annotations

import logging

from ..domain.errors import DependencyUnavailable
from ..domain.lifecycle import Deployment, DeploymentStatus, DomainEvent, EventType, utcnow
from ..ports.workflow import Mode
from .services import Services
from .workflow_tasks import finalize

log = logging.getLogger(__name__)
S = DeploymentStatus
IN_FLIGHT = (S.PENDING, S.PLANNING, S.PLANNED, S.AWAITING_APPROVAL, S.APPROVED, S.EXECUTING, S.VERIFYING,
             S.ROLLING_BACK)
# Past these, steps may have applied something: recovery undoes it.
MAY_HAVE_APPLIED = frozenset({S.EXECUTING, S.VERIFYING, S.ROLLING_BACK})
SWEEPER = "sweeper"


def restart_workflow(svc: Services, deployment: Deployment, *, mode: Mode, actor: str, correlation_id: str,
                     reason: str) -> str:
    """Start a new execution for a deployment whose execution is gone, from where the deployment stands (its tasks
    resume from the stored state); record it and why."""
    arn = svc.workflow.start(deployment_id=deployment.id, tenant_id=deployment.tenant_id,
                             correlation_id=correlation_id, mode=mode)
    svc.deployments.set_execution_arn(deployment.id, arn)
    deployment.execution_arn = arn
    svc.deployments.append_events([DomainEvent(
        type=EventType.WORKFLOW_RESTARTED, deployment_id=deployment.id, at=utcnow(), actor=actor,
        correlation_id=correlation_id, detail={"mode": mode, "reason": reason, "execution_arn": arn})],
        deployment.tenant_id)
    return arn


def execution_gone(svc: Services, deployment: Deployment) -> bool:
    """True when the deployment's recorded execution no longer runs (ended, or unknown to the engine)."""
    return bool(deployment.execution_arn) and svc.workflow.status(deployment.execution_arn) != "RUNNING"


def settle_orphans(svc: Services, *, page_size: int = 200) -> list[str]:
    """Ids of the deployments it recovered (rolled back or marked failed)."""
    settled: list[str] = []
    for status in IN_FLIGHT:
        after = None
        while True:
            page = svc.deployments.ids_in_status(status, limit=page_size, after=after)
            for deployment_id, _tenant in page:
                deployment = svc.deployments.get(deployment_id)
                if deployment is None or deployment.status != status or not deployment.execution_arn:
                    continue  # moved on meanwhile, or its execution has not been recorded yet
                ended = svc.workflow.status(deployment.execution_arn)
                if ended == "RUNNING":
                    continue
                why = f"the workflow ended ({ended or 'unknown to the engine'}) without recording an outcome"
                if status in MAY_HAVE_APPLIED:
                    try:
                        restart_workflow(svc, deployment, mode="rollback", actor=SWEEPER, correlation_id=SWEEPER,
                                         reason=f"{why}: rolling back what it applied")
                    except DependencyUnavailable:
                        log.warning("could not start the recovery of deployment %s; the next sweep retries",
                                    deployment_id)
                        continue
                else:
                    finalize(svc, deployment_id, "failed", SWEEPER, reason=why)
                settled.append(deployment_id)
            if len(page) < page_size:
                break
            after = page[-1][0]
    return settled
