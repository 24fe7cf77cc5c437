from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from ...domain.catalogue import Environment
from ...domain.errors import FieldError, ValidationFailed
from ...domain.lifecycle import DeploymentStatus
from ...domain.users import User
from ...idempotency import once_per_client_key
from ...observability import MetricUnit, metrics
from ...usecases import deployments as uc
from ...wiring import services
from ..context import correlation_id, current_user, idempotency_key, json_body, query_int
from ..views import deployment_summary, deployment_view, event_view

router = APIGatewayRouter()
TAGS = ["deployments"]


def _enum(name: str, enum):
    raw = router.current_event.get_query_string_value(name)
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed([FieldError(("query", name), f"must be one of: {allowed}", "enum")]) from None


def full_view(deployment) -> dict[str, Any]:
    """The deployment as GET /deployments/{id} shows it: with its plan, step results and approval."""
    svc = services()
    return deployment_view(deployment, svc.deployments.get_plan(deployment.id), svc.steps.list(deployment.id))


class CreateRequest(BaseModel):
    tenant_id: str
    idempotency_key: str | None
    correlation_id: str
    user: User
    body: Any


def _create(request: CreateRequest) -> dict[str, Any]:
    deployment = uc.create_deployment(services(), request.user, request.body, correlation_id=request.correlation_id,
                                      idempotency_key=request.idempotency_key)
    metrics.add_metric(name="DeploymentsCreated", unit=MetricUnit.Count, value=1)
    return full_view(deployment)


_create_once = once_per_client_key()(_create)


@router.post("/deployments", summary="Create a deployment from an intent and start its workflow", tags=TAGS)
def create():
    user = current_user(router)
    request = CreateRequest(tenant_id=user.tenant_id, idempotency_key=idempotency_key(router),
                            correlation_id=correlation_id(router), user=user, body=json_body(router))
    body = _create_once(request=request) if request.idempotency_key else _create(request)
    return Response(status_code=201, content_type="application/json", body=body)


@router.get("/deployments", summary="List deployments of the caller's tenant", tags=TAGS)
def list_deployments():
    errors: list[FieldError] = []

    def checked(read):  # every bad query value is reported in one 422, as body fields are
        try:
            return read()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            return None

    limit = checked(lambda: query_int(router, "limit", 50, minimum=1, maximum=200))
    offset = checked(lambda: query_int(router, "offset", 0, minimum=0, maximum=1_000_000))
    status = checked(lambda: _enum("status", DeploymentStatus))
    environment = checked(lambda: _enum("environment", Environment))
    if errors:
        raise ValidationFailed(errors)
    page = uc.list_deployments(services(), current_user(router), status=status, environment=environment,
                               limit=limit, offset=offset)
    return {"items": [deployment_summary(d) for d in page.items], "total": page.total, "limit": limit,
            "offset": offset}


@router.get("/deployments/<deployment_id>", summary="A deployment with its plan, step results and approval",
            tags=TAGS)
def get(deployment_id: str):
    return full_view(uc.get_deployment(services(), current_user(router), deployment_id))


@router.get("/deployments/<deployment_id>/events", summary="The deployment's audit trail", tags=TAGS)
def events(deployment_id: str):
    return {"items": [event_view(e) for e in uc.deployment_events(services(), current_user(router), deployment_id)]}


@router.get("/deployments/<deployment_id>/terraform", summary="Generated Terraform JSON per provider", tags=TAGS)
def terraform(deployment_id: str):
    return uc.terraform(services(), current_user(router), deployment_id)


@router.post("/deployments/<deployment_id>/approve", summary="Approve a deployment awaiting approval", tags=TAGS)
def approve(deployment_id: str):
    return full_view(uc.approve(services(), current_user(router), deployment_id, json_body(router, required=False),
                                correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/reject", summary="Reject a deployment awaiting approval", tags=TAGS)
def reject(deployment_id: str):
    return full_view(uc.reject(services(), current_user(router), deployment_id, json_body(router),
                               correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/cancel",
             summary="Cancel: before execution it stops; while executing it rolls back", tags=TAGS)
def cancel(deployment_id: str):
    return full_view(uc.cancel(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/execute",
             summary="Approve if awaiting approval, else report the running state", tags=TAGS)
def execute(deployment_id: str):
    return full_view(uc.execute(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/plan",
             summary="Re-plan a failed, rolled back, cancelled or rejected deployment", tags=TAGS)
def replan(deployment_id: str):
    return full_view(uc.replan(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/rollback", summary="Roll back a completed or failed deployment",
             tags=TAGS)
def rollback(deployment_id: str):
    return full_view(uc.rollback(services(), current_user(router), deployment_id,
                             correlation_id=correlation_id(router)))
