from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...usecases import drift as uc
from ...wiring import services
from ..context import correlation_id, current_user, json_body, query_text
from ..views import drift_view
from .deployments import full_view

router = APIGatewayRouter()
TAGS = ["drift"]


@router.post("/drift/scan", summary="Scan a completed deployment for drift now", tags=TAGS)
def scan():
    return drift_view(uc.scan_on_request(services(), current_user(router), json_body(router)))


@router.get("/drift/reports", summary="Drift reports of the caller's tenant", tags=TAGS)
def reports():
    deployment_id = query_text(router, "deployment_id")
    return {"items": [drift_view(r) for r in uc.list_reports(services(), current_user(router),
                                                             deployment_id=deployment_id)]}


@router.post("/drift/reports/<report_id>/remediate",
             summary="Create a deployment that restores the expected state (goes through approval)", tags=TAGS)
def remediate(report_id: str):
    deployment = uc.remediate(services(), current_user(router), report_id, correlation_id=correlation_id(router))
    return Response(status_code=201, content_type="application/json", body=full_view(deployment))
