"""Settle deployments whose workflow ended without saying so.

Every task records its own outcome, but the last one can fail to (the database down through all its retries, an
execution stopped by hand): the execution has ended while the deployment still reads, say, `executing`. The
scheduled sweep finds those and records the failure, so no deployment stays in flight forever.
"""

from __future__ import annotations

from ..domain.lifecycle import DeploymentStatus
from .services import Services
from .workflow_tasks import finalize

S = DeploymentStatus
IN_FLIGHT = (S.PENDING, S.PLANNING, S.PLANNED, S.AWAITING_APPROVAL, S.APPROVED, S.EXECUTING, S.VERIFYING,
             S.ROLLING_BACK)


def settle_orphans(svc: Services, *, page_size: int = 200) -> list[str]:
    """Ids of the deployments it settled."""
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
                finalize(svc, deployment_id, "failed", "sweeper",
                         reason=f"the workflow ended ({ended or 'unknown to the engine'}) without recording an "
                                "outcome")
                settled.append(deployment_id)
            if len(page) < page_size:
                break
            after = page[-1][0]
    return settled
