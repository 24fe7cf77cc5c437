from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...usecases import cloud_console as uc
from ...wiring import services
from ..context import current_user, json_body, query_text
from ..views import resource_view

router = APIGatewayRouter()
TAGS = ["simulated cloud"]


@router.get("/cloud/resources", summary="The simulated cloud's inventory", tags=TAGS)
def resources():
    deployment_id = query_text(router, "deployment_id")
    items = uc.list_resources(services(), current_user(router), deployment_id=deployment_id)
    return {"items": [resource_view(r) for r in items]}


@router.patch("/cloud/resources/<resource_id>", summary="Change a resource out of band (causes drift)", tags=TAGS)
def patch(resource_id: str):
    return resource_view(uc.patch_resource(services(), current_user(router), resource_id, json_body(router)))


@router.delete("/cloud/resources/<resource_id>", summary="Delete a resource out of band (causes drift)", tags=TAGS)
def delete(resource_id: str):
    uc.delete_resource(services(), current_user(router), resource_id)
    return Response(status_code=204, content_type="application/json", body="")
