from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import WrapValidator

from ...domain.catalogue import Environment
from ...domain.intent import DeploymentIntent, validate_intent
from ...domain.lifecycle import Deployment, DeploymentStatus
from ...domain.steps import StepStatus
from ...domain.users import Permission
from ...observability import MetricUnit, metrics
from ...usecases import deployments as uc
from ...usecases import policies as policy_uc
from ...usecases.policies import OverrideBody
from ...usecases.requests import ApproveBody, RejectBody
from ...wiring import services
from ..context import correlation_id, current_user
from ..conventions import base_path, check_if_match, created_at
from ..guard import requires
from ..params import ETAG, ID_TEXT, REPLAY, IdempotencyKey, IfMatch, IfNoneMatch
from ..schemas import DeploymentOut, DeploymentPage, EventList, StepPage, responses
from ..views import deployment_summary, deployment_view, event_view, step_view

router = APIGatewayRouter()
TAGS = ["deployments"]
DeploymentId = Annotated[str, Path(description="The deployment's id", min_length=1, max_length=64, pattern=ID_TEXT)]


def _every_error(value: Any, structural: Any) -> DeploymentIntent:
    """Every error of an intent at once (structure and the rules across fields), not pydantic's structural pass
    only; what is not even an object is left to pydantic (located at "body")."""
    return validate_intent(value) if isinstance(value, dict) else structural(value)


EXAMPLE_INTENT = {
    "name": "todo-api", "description": "A network and a queue on AWS, waiting for approval",
    "target_providers": ["aws"], "environment": "development", "auto_approve": False,
    "resources": [
        {"resource_type": "network", "provider": "aws", "region": "eu-west-1", "name": "api-vpc",
         "properties": {"cidr": "10.0.0.0/16"}, "tags": {"owner": "todo"}},
        {"resource_type": "queue", "provider": "aws", "region": "eu-west-1", "name": "jobs",
         "properties": {"size": "small"}, "tags": {"owner": "todo"},
         "dependencies": ["aws/eu-west-1/network/api-vpc"]},
    ],
}
IntentBody = Annotated[DeploymentIntent, WrapValidator(_every_error),
                       Body(description="What to deploy: resources on AWS, Azure and GCP with their dependencies",
                            openapi_examples={"two-resources": {"summary": "A network and a queue on AWS",
                                                                "value": EXAMPLE_INTENT}})]
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Page size (at most 1000)")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="The next_cursor of the previous page")]
ACTION_ERRORS = (401, 403, 404, 409, 412, 422, 429, 503)
# What a client (and schemathesis' stateful phase) can do next with a deployment it was given.
NEXT = {name: {"operationId": operation, "parameters": {"deployment_id": "$response.body#/id"}}
        for name, operation in [("GetDeployment", "getDeployment"), ("ListDeploymentEvents", "listDeploymentEvents"),
                                ("ListDeploymentSteps", "listDeploymentSteps"),
                                ("GetDeploymentTerraform", "getDeploymentTerraform"),
                                ("ApproveDeployment", "approveDeployment"), ("RejectDeployment", "rejectDeployment"),
                                ("CancelDeployment", "cancelDeployment"), ("RollbackDeployment", "rollbackDeployment"),
                                ("ReplanDeployment", "replanDeployment"),
                                ("OverrideDeployment", "overrideDeployment")]}


def _answer(overview: uc.Overview) -> dict[str, Any]:
    view = deployment_view(overview, base_path(router))
    return DeploymentOut.model_validate(view).model_dump(mode="json")


def full_view(deployment: Deployment) -> dict[str, Any]:
    """The deployment as GET /deployments/{id} shows it: its plan's figures, step counts, approval and links."""
    return _answer(uc.overview_of(services(), deployment))


def _unchanged_since(deployment_id: str, if_match: str | None) -> None:
    if if_match is not None:  # compared with what the GET answers, for its ETag
        check_if_match(if_match, _answer(uc.deployment_overview(services(), current_user(router), deployment_id)))


@router.post("/deployments", operation_id="createDeployment",
             summary="Create a deployment from an intent and start its workflow", tags=TAGS,
             responses=responses(201, "Created; Location names it", 400, 401, 403, 415, 422, 429, 503, links=NEXT,
                                 headers={"Location": {"description": "The new deployment's URL",
                                                       "schema": {"type": "string"}}, **REPLAY}))
@requires(Permission.DEPLOYMENT_CREATE)
def create(intent: IntentBody, idempotency_key: IdempotencyKey = None) -> Response[DeploymentOut]:
    user = current_user(router)
    # The database's unique key is per tenant: scoping it by the caller keeps one user's key from another's.
    deployment = uc.create_deployment(services(), user, intent, correlation_id=correlation_id(router),
                                      idempotency_key=f"{user.id}:{idempotency_key}" if idempotency_key else None)
    metrics.add_metric(name="DeploymentsCreated", unit=MetricUnit.Count, value=1)
    return created_at(router, f"/api/v1/deployments/{deployment.id}", full_view(deployment))


@router.get("/deployments", operation_id="listDeployments", summary="List deployments of the caller's tenant",
            tags=TAGS,
            responses=responses(200, "A page of deployments, newest first", 304, 401, 403, 422, 429, 503,
                                headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def list_deployments(
        status: Annotated[DeploymentStatus | None, Query(description="Only deployments in this status")] = None,
        environment: Annotated[Environment | None, Query(description="Only this environment")] = None,
        limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
        if_none_match: IfNoneMatch = None) -> DeploymentPage:
    page = uc.list_deployments(services(), current_user(router), status=status, environment=environment,
                               limit=limit, offset=offset)
    return {"items": [deployment_summary(d) for d in page.items], "total": page.total, "limit": limit,
            "offset": offset}


@router.get("/deployments/<deployment_id>", operation_id="getDeployment",
            summary="A deployment: status, approval, its plan's figures and step counts (bounded at any size)",
            tags=TAGS,
            responses=responses(200, "The deployment", 304, 401, 403, 404, 422, 429, 503, headers=ETAG, links=NEXT))
@requires(Permission.DEPLOYMENT_READ)
def get(deployment_id: DeploymentId, if_none_match: IfNoneMatch = None) -> DeploymentOut:
    return _answer(uc.deployment_overview(services(), current_user(router), deployment_id))


@router.get("/deployments/<deployment_id>/events", operation_id="listDeploymentEvents",
            summary="The deployment's audit trail", tags=TAGS,
            responses=responses(200, "A page of its events, oldest first", 304, 401, 403, 404, 422, 429, 503,
                                headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def events(deployment_id: DeploymentId, limit: PageLimit = 100, cursor: Cursor = None,
           if_none_match: IfNoneMatch = None) -> EventList:
    page = uc.deployment_events(services(), current_user(router), deployment_id, limit=limit, cursor=cursor)
    return {"items": [event_view(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get("/deployments/<deployment_id>/steps", operation_id="listDeploymentSteps",
            summary="The deployment's steps, a page at a time, in order (wave, then position)", tags=TAGS,
            responses=responses(200, "A page of steps", 304, 401, 403, 404, 422, 429, 503, headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def steps(deployment_id: DeploymentId,
          status: Annotated[StepStatus | None, Query(description="Only steps in this status")] = None,
          wave: Annotated[int | None, Query(ge=0, le=1_000_000, description="Only this wave (0-based)")] = None,
          limit: PageLimit = 100, cursor: Cursor = None, if_none_match: IfNoneMatch = None) -> StepPage:
    page = uc.step_page(services(), current_user(router), deployment_id, status=status, wave=wave, limit=limit,
                        cursor=cursor)
    return {"items": [step_view(s) for s in page.items], "next_cursor": page.next_cursor}


@router.get("/deployments/<deployment_id>/terraform", operation_id="getDeploymentTerraform",
            summary="Generated Terraform JSON per provider", tags=TAGS,
            responses=responses(200, "Terraform JSON by provider", 304, 401, 403, 404, 422, 429, 503, headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def terraform(deployment_id: DeploymentId, if_none_match: IfNoneMatch = None) -> dict[str, Any]:
    return uc.terraform(services(), current_user(router), deployment_id)


@router.post("/deployments/<deployment_id>/approve", operation_id="approveDeployment",
             summary="Approve a deployment awaiting approval", tags=TAGS,
             responses=responses(200, "Approved", 400, 415, *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_APPROVE)
def approve(deployment_id: DeploymentId, body: Annotated[ApproveBody | None, Body()] = None,
            idempotency_key: IdempotencyKey = None, if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.approve(services(), current_user(router), deployment_id, body or ApproveBody(),
                                correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/reject", operation_id="rejectDeployment",
             summary="Reject a deployment awaiting approval", tags=TAGS,
             responses=responses(200, "Rejected", 400, 415, *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_APPROVE)
def reject(deployment_id: DeploymentId, body: Annotated[RejectBody, Body()], idempotency_key: IdempotencyKey = None,
           if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.reject(services(), current_user(router), deployment_id, body,
                               correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/cancel", operation_id="cancelDeployment",
             summary="Cancel: before execution it stops; while executing it rolls back", tags=TAGS,
             responses=responses(200, "Cancelled, or rolling back", *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_CANCEL)
def cancel(deployment_id: DeploymentId, idempotency_key: IdempotencyKey = None,
           if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.cancel(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/execute", operation_id="executeDeployment",
             summary="Approve if awaiting approval, else report the running state", tags=TAGS,
             responses=responses(200, "Approved, or already running", *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_APPROVE)
def execute(deployment_id: DeploymentId, idempotency_key: IdempotencyKey = None,
            if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.execute(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/plan", operation_id="replanDeployment",
             summary="Re-plan a failed, rolled back, cancelled or rejected deployment", tags=TAGS,
             responses=responses(200, "Planning again", *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_CREATE)
def replan(deployment_id: DeploymentId, idempotency_key: IdempotencyKey = None,
           if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.replan(services(), current_user(router), deployment_id, correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/rollback", operation_id="rollbackDeployment",
             summary="Roll back a completed or failed deployment",
             tags=TAGS, responses=responses(200, "Rolling back", *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.DEPLOYMENT_ROLLBACK)
def rollback(deployment_id: DeploymentId, idempotency_key: IdempotencyKey = None,
             if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(uc.rollback(services(), current_user(router), deployment_id,
                                 correlation_id=correlation_id(router)))


@router.post("/deployments/<deployment_id>/override", operation_id="overrideDeployment",
             summary="Admins: let a deployment blocked until overridden (soft-mandatory policies, a change freeze, "
                     "dependents in other stacks) proceed, with a reason", tags=TAGS,
             responses=responses(200, "Overridden and approved", 400, 415, *ACTION_ERRORS, headers=REPLAY))
@requires(Permission.POLICY_MANAGE)
def override(deployment_id: DeploymentId, body: Annotated[OverrideBody, Body()],
             idempotency_key: IdempotencyKey = None, if_match: IfMatch = None) -> DeploymentOut:
    _unchanged_since(deployment_id, if_match)
    return full_view(policy_uc.override(services(), current_user(router), deployment_id, body,
                                        correlation_id=correlation_id(router)))
