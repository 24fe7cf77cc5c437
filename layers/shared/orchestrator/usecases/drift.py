"""Drift: compare what a deployment applied with what the cloud holds now, report it, and remediate through a new
deployment that goes through plan and approval like any other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.errors import ActionNotAllowed, NotFound
from ..domain.lifecycle import Deployment, DeploymentStatus
from ..domain.resources import CloudResource
from ..domain.steps import StepRun
from ..domain.users import Permission, User
from ..drift.detector import DriftScan
from ..drift.remediation import remediation_intent
from ..drift.report import DriftReport
from ..planning.plan import StepAction
from .access import load_deployment, require
from .deployments import submit_intent
from .requests import ScanBody, parse
from .services import Services

SCANNABLE = frozenset({DeploymentStatus.COMPLETED})


# Steps and inventory records read per round trip: a scan's memory is bounded by this, not by the deployment's size.
PAGE = 500


@dataclass(frozen=True)
class ScheduledScan:
    deployments_scanned: int
    drift_items: int
    reports_with_drift: list[str]


def expected_state(svc: Services, deployment: Deployment) -> list[CloudResource]:
    """What the deployment's last successful run left in the cloud, as the inventory should hold it."""
    return _expected(deployment, svc.steps.list(deployment.id))


_NOT_DESIRED = frozenset({StepAction.DESTROY.value, StepAction.SWITCH.value, StepAction.RETIRE.value})


def _expected(deployment: Deployment, steps: list[StepRun]) -> list[CloudResource]:
    expected = []
    for step in steps:
        # One desired state per resource: blue/green's switch and retire steps repeat the green step's spec.
        if step.action in _NOT_DESIRED or step.undone_at is not None:
            continue
        spec = step.resource
        properties = {k: v for k, v in spec.get("properties", {}).items() if k != "simulate"}
        expected.append(CloudResource(
            tenant_id=deployment.tenant_id, provider=spec["provider"], region=spec["region"],
            resource_type=spec["resource_type"], name=spec["name"],
            provider_resource_id=step.provider_resource_id or "", properties=properties,
            tags=spec.get("tags", {}), deployment_id=deployment.id,
        ))
    return expected


def detect(svc: Services, deployment: Deployment, *, scan_type: str) -> DriftReport:
    """The deployment's drift, read by index a page at a time: its steps, the live records at their identifiers,
    then what it owns and what nobody owns in its scopes. The rest of the tenant's inventory is never read."""
    tenant, page_size = deployment.tenant_id, PAGE
    found = DriftScan(deployment_id=deployment.id, tenant_id=tenant, scan_type=scan_type)
    after = None
    while page := svc.steps.runs_after(deployment.id, after=after, limit=page_size):
        expected = _expected(deployment, page)
        found.compare(expected, svc.inventory.at(tenant, [r.identifier for r in expected]))
        if len(page) < page_size:
            break
        after = page[-1].step_id
    scopes, after = sorted(found.scopes), None
    while scopes and (page := svc.inventory.drift_candidates(tenant, deployment.id, scopes, after=after,
                                                              limit=page_size)):
        found.consider_added(page)
        if len(page) < page_size:
            break
        after = page[-1].identifier
    return found.report()


def scan(svc: Services, deployment: Deployment, *, scan_type: str) -> DriftReport:
    if deployment.status not in SCANNABLE:
        raise ActionNotAllowed("scan for drift", "deployment", deployment.status.value,
                               [s.value for s in SCANNABLE])
    report = detect(svc, deployment, scan_type=scan_type)
    svc.drift.add(report)
    if report.has_drift:
        svc.events.publish("DriftDetected", {
            "report_id": report.id, "deployment_id": deployment.id, "tenant_id": deployment.tenant_id,
            "name": deployment.intent.name, "environment": deployment.intent.environment.value,
            "status": deployment.status.value, "max_severity": report.max_severity, "items": len(report.items),
            "summary": report.summary,
        })
    return report


def scan_on_request(svc: Services, user: User, payload: Any) -> DriftReport:
    require(user, Permission.DRIFT_SCAN)  # 403 before anything about the body
    deployment_id = parse(ScanBody, payload).deployment_id
    deployment = load_deployment(svc.deployments, user, deployment_id, Permission.DEPLOYMENT_READ)
    return scan(svc, deployment, scan_type="manual")


def scan_all(svc: Services, *, page_size: int = 200) -> ScheduledScan:
    """The scheduled scan: every completed deployment of every tenant, one at a time, page by page. Each report is
    stored as it is made and only its id is kept, so memory does not grow with the number of deployments."""
    scanned, items, drifted, after = 0, 0, [], None
    while True:
        page = svc.deployments.ids_in_status(DeploymentStatus.COMPLETED, limit=page_size, after=after)
        for deployment_id, _tenant in page:
            deployment = svc.deployments.get(deployment_id)
            if deployment is not None and deployment.status in SCANNABLE:
                report = scan(svc, deployment, scan_type="scheduled")
                scanned, items = scanned + 1, items + len(report.items)
                if report.has_drift:
                    drifted.append(report.id)
        if len(page) < page_size:
            return ScheduledScan(scanned, items, drifted)
        after = page[-1][0]


def list_reports(svc: Services, user: User, *, deployment_id: str | None) -> list[DriftReport]:
    require(user, Permission.DRIFT_READ)
    return svc.drift.list(user.tenant_id, deployment_id=deployment_id)


def remediate(svc: Services, user: User, report_id: str, *, correlation_id: str) -> Deployment:
    require(user, Permission.DRIFT_REMEDIATE)
    report = svc.drift.get(report_id, tenant_id=user.tenant_id)
    if report is None:
        raise NotFound(f"drift report {report_id} not found")
    if not report.has_drift:
        raise ActionNotAllowed("remediate", "drift report", "without drift", ["with drift items"])
    original = load_deployment(svc.deployments, user, report.deployment_id, Permission.DEPLOYMENT_READ)
    intent = remediation_intent(report, expected_state(svc, original), original=original.intent)
    deployment = submit_intent(svc, user, intent, correlation_id=correlation_id)
    svc.drift.set_remediation(report.id, deployment.id)
    return deployment
