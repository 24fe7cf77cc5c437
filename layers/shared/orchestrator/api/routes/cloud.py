from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.users import Permission
from ...usecases import cloud_console as uc
from ...usecases.requests import ResourcePatch
from ...wiring import services
from ..context import current_user
from ..conventions import no_content
from ..guard import requires
from ..params import ETAG, ID_TEXT, IdText, IfNoneMatch
from ..schemas import ResourceDetailOut, ResourceList, ResourceOut, responses
from ..views import resource_detail_view, resource_view

router = APIGatewayRouter()
TAGS = ["simulated cloud"]
ResourceId = Annotated[str, Path(description="The resource's id", min_length=1, max_length=64, pattern=ID_TEXT)]


@router.get("/cloud/resources", operation_id="listResources", summary="The simulated cloud's inventory",
            tags=TAGS,
            responses=responses(200, "A page of the tenant's resources, by identifier", 304, 401, 403, 422, 429,
                                503))
@requires(Permission.CLOUD_READ)
def resources(deployment_id: Annotated[IdText | None, Query(description="Only this deployment's")] = None,
              after: Annotated[str | None, Query(min_length=1, max_length=512, pattern=ID_TEXT,
                                                 description="Continue after this resource identifier (the "
                                                             "previous page's next_after)")] = None,
              limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 100) -> ResourceList:
    items, next_after = uc.list_resources(services(), current_user(router), deployment_id=deployment_id,
                                          after=after, limit=limit)
    return {"items": [resource_view(r) for r in items], "next_after": next_after}


@router.get("/cloud/resources/<resource_id>", operation_id="getResource",
            summary="A resource, its health and its standby instance", tags=TAGS,
            responses=responses(200, "The resource", 304, 401, 403, 404, 422, 429, 503, headers=ETAG))
@requires(Permission.CLOUD_READ)
def get(resource_id: ResourceId, if_none_match: IfNoneMatch = None) -> ResourceDetailOut:
    return resource_detail_view(*uc.get_resource(services(), current_user(router), resource_id))


@router.patch("/cloud/resources/<resource_id>", operation_id="patchResource",
              summary="Change a resource out of band (causes drift)", tags=TAGS,
              responses=responses(200, "The changed resource", 400, 401, 403, 404, 415, 422, 429, 503))
@requires(Permission.CLOUD_WRITE)
def patch(resource_id: ResourceId, change: Annotated[ResourcePatch, Body()]) -> ResourceOut:
    return resource_view(uc.patch_resource(services(), current_user(router), resource_id, change))


@router.delete("/cloud/resources/<resource_id>", operation_id="deleteResource",
               summary="Delete a resource out of band (causes drift)", tags=TAGS,
               responses=responses(204, "Deleted", 401, 403, 404, 422, 429, 503, empty=True))
@requires(Permission.CLOUD_WRITE)
def delete(resource_id: ResourceId) -> None:
    uc.delete_resource(services(), current_user(router), resource_id)
    return no_content()
