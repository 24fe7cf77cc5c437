from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.users import Permission
from ...planning.freeze import FreezeWindowIn
from ...planning.policies import PolicyIn
from ...usecases import policies as uc
from ...wiring import services
from ..context import current_user
from ..conventions import created_at, no_content
from ..guard import requires
from ..params import ETAG, ID_TEXT, REPLAY, IdempotencyKey, IfNoneMatch
from ..schemas import FreezeWindowList, FreezeWindowOut, PolicyList, PolicyOut, responses
from ..views import freeze_window_view, policy_view

router = APIGatewayRouter()
POLICY_TAGS = ["policies"]
FREEZE_TAGS = ["freeze windows"]
PolicyId = Annotated[str, Path(description="The policy's id", min_length=1, max_length=64, pattern=ID_TEXT)]
WindowId = Annotated[str, Path(description="The window's id", min_length=1, max_length=64, pattern=ID_TEXT)]
EXAMPLE_POLICY = {"name": "eu-only", "description": "Production stays in the EU", "environments": ["production"],
                  "enforcement": "mandatory", "rule": {"allowed_regions": ["eu-west-1", "europe-west1"]}}
PolicyBody = Annotated[PolicyIn, Body(description="A policy: where it applies, its enforcement and one rule",
                                      openapi_examples={"eu-only": {"summary": "Production in the EU only",
                                                                    "value": EXAMPLE_POLICY}})]
EXAMPLE_WINDOW = {"name": "friday-evening", "environments": ["production"], "reason": "weekend on-call is thin",
                  "mode": "block", "cron": "0 18 * * 5", "duration_minutes": 3840, "timezone": "Europe/Berlin"}
WindowBody = Annotated[FreezeWindowIn, Body(description="A one-off (starts_at, ends_at) or recurring (cron, "
                                                        "duration_minutes, timezone) change freeze",
                                            openapi_examples={"weekend": {"summary": "Fridays 18:00 to Monday "
                                                                                     "Berlin time",
                                                                          "value": EXAMPLE_WINDOW}})]
LOCATED = {"Location": {"description": "The new record's URL", "schema": {"type": "string"}}, **REPLAY}


@router.get("/policies", operation_id="listPolicies", summary="The tenant's policy set", tags=POLICY_TAGS,
            responses=responses(200, "Its policies, by name", 304, 401, 403, 429, 503, headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def list_policies(if_none_match: IfNoneMatch = None) -> PolicyList:
    return {"items": [policy_view(p) for p in uc.list_policies(services(), current_user(router))]}


@router.post("/policies", operation_id="createPolicy", summary="Add a policy to the tenant's set (admins)",
             tags=POLICY_TAGS,
             responses=responses(201, "Created; Location names it", 400, 401, 403, 409, 415, 422, 429, 503,
                                 headers=LOCATED))
@requires(Permission.POLICY_MANAGE)
def create_policy(policy: PolicyBody, idempotency_key: IdempotencyKey = None) -> Response[PolicyOut]:
    created = uc.create_policy(services(), current_user(router), policy)
    return created_at(router, f"/api/v1/policies/{created.id}", policy_view(created))


@router.get("/policies/<policy_id>", operation_id="getPolicy", summary="One policy", tags=POLICY_TAGS,
            responses=responses(200, "The policy", 304, 401, 403, 404, 429, 503, headers=ETAG))
@requires(Permission.DEPLOYMENT_READ)
def get_policy(policy_id: PolicyId, if_none_match: IfNoneMatch = None) -> PolicyOut:
    return policy_view(uc.get_policy(services(), current_user(router), policy_id))


@router.put("/policies/<policy_id>", operation_id="replacePolicy", summary="Replace a policy (admins)",
            tags=POLICY_TAGS, responses=responses(200, "Replaced", 400, 401, 403, 404, 409, 415, 422, 429, 503))
@requires(Permission.POLICY_MANAGE)
def replace_policy(policy_id: PolicyId, policy: PolicyBody) -> PolicyOut:
    return policy_view(uc.replace_policy(services(), current_user(router), policy_id, policy))


@router.delete("/policies/<policy_id>", operation_id="deletePolicy", summary="Remove a policy (admins)",
               tags=POLICY_TAGS, responses=responses(204, "Removed", 401, 403, 404, 429, 503, empty=True))
@requires(Permission.POLICY_MANAGE)
def delete_policy(policy_id: PolicyId) -> None:
    uc.delete_policy(services(), current_user(router), policy_id)
    return no_content()


@router.get("/freeze-windows", operation_id="listFreezeWindows", summary="The tenant's change-freeze windows (admins)",
            tags=FREEZE_TAGS, responses=responses(200, "Its windows, by name", 304, 401, 403, 429, 503, headers=ETAG))
@requires(Permission.POLICY_MANAGE)
def list_windows(if_none_match: IfNoneMatch = None) -> FreezeWindowList:
    return {"items": [freeze_window_view(w) for w in uc.list_freeze_windows(services(), current_user(router))]}


@router.post("/freeze-windows", operation_id="createFreezeWindow", summary="Add a change-freeze window (admins)",
             tags=FREEZE_TAGS,
             responses=responses(201, "Created; Location names it", 400, 401, 403, 409, 415, 422, 429, 503,
                                 headers=LOCATED))
@requires(Permission.POLICY_MANAGE)
def create_window(window: WindowBody, idempotency_key: IdempotencyKey = None) -> Response[FreezeWindowOut]:
    created = uc.create_freeze_window(services(), current_user(router), window)
    return created_at(router, f"/api/v1/freeze-windows/{created.id}", freeze_window_view(created))


@router.get("/freeze-windows/<window_id>", operation_id="getFreezeWindow", summary="One change-freeze window",
            tags=FREEZE_TAGS, responses=responses(200, "The window", 304, 401, 403, 404, 429, 503, headers=ETAG))
@requires(Permission.POLICY_MANAGE)
def get_window(window_id: WindowId, if_none_match: IfNoneMatch = None) -> FreezeWindowOut:
    return freeze_window_view(uc.get_freeze_window(services(), current_user(router), window_id))


@router.delete("/freeze-windows/<window_id>", operation_id="deleteFreezeWindow",
               summary="Remove a change-freeze window (admins)", tags=FREEZE_TAGS,
               responses=responses(204, "Removed", 401, 403, 404, 429, 503, empty=True))
@requires(Permission.POLICY_MANAGE)
def delete_window(window_id: WindowId) -> None:
    uc.delete_freeze_window(services(), current_user(router), window_id)
    return no_content()
