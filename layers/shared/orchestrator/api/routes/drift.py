from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.users import Permission
from ...usecases import drift as uc
from ...usecases.requests import ScanBody
from ...wiring import services
from ..context import correlation_id, current_user
from ..conventions import created_at
from ..guard import requires
from ..params import ID_TEXT, REPLAY, IdempotencyKey, IdText
from ..schemas import DeploymentOut, DriftReportList, DriftReportOut, responses
from ..views import drift_view
from .deployments import full_view

router = APIGatewayRouter()
TAGS = ["drift"]


@router.post("/drift/scan", operation_id="scanForDrift", summary="Scan a completed deployment for drift now",
             tags=TAGS,
             responses=responses(200, "The report", 400, 401, 403, 404, 409, 415, 422, 429, 503, headers=REPLAY))
@requires(Permission.DRIFT_SCAN)
def scan(body: Annotated[ScanBody, Body()], idempotency_key: IdempotencyKey = None) -> DriftReportOut:
    return drift_view(uc.scan_on_request(services(), current_user(router), body))


@router.get("/drift/reports", operation_id="listDriftReports", summary="Drift reports of the caller's tenant",
            tags=TAGS,
            responses=responses(200, "Reports, newest first", 304, 401, 403, 422, 429, 503))
@requires(Permission.DRIFT_READ)
def reports(deployment_id: Annotated[IdText | None, Query(description="Only this deployment's")] = None
            ) -> DriftReportList:
    return {"items": [drift_view(r) for r in uc.list_reports(services(), current_user(router),
                                                             deployment_id=deployment_id)]}


@router.post("/drift/reports/<report_id>/remediate", operation_id="remediateDrift",
             summary="Create a deployment that restores the expected state (goes through approval)", tags=TAGS,
             responses=responses(201, "The remediation deployment; Location names it", 401, 403, 404, 409, 422,
                                 429, 503, headers=REPLAY))
@requires(Permission.DRIFT_REMEDIATE)
def remediate(report_id: Annotated[str, Path(description="The report's id", min_length=1, max_length=64,
                                             pattern=ID_TEXT)],
              idempotency_key: IdempotencyKey = None) -> Response[DeploymentOut]:
    deployment = uc.remediate(services(), current_user(router), report_id, correlation_id=correlation_id(router))
    return created_at(router, f"/api/v1/deployments/{deployment.id}", full_view(deployment))
