"""Notification destinations (admins): webhooks that get signed POSTs for the events they want."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.users import Permission
from ...usecases import notifications as uc
from ...usecases.notifications import DestinationRequest
from ...wiring import notification_store
from ..context import current_user
from ..conventions import answers_with_a_secret, created_at, no_content
from ..guard import requires
from ..params import ID_TEXT
from ..schemas import DeliveryList, DestinationCreated, DestinationList, DestinationOut, responses
from ..views import delivery_view, destination_view

router = APIGatewayRouter()
TAGS = ["notifications"]
DestinationId = Annotated[str, Path(description="The destination's id", min_length=1, max_length=64,
                                    pattern=ID_TEXT)]


@router.post("/notifications", operation_id="createNotification",
             summary="Add a webhook destination and the events it wants", tags=TAGS,
             responses=responses(201, "The destination, with its signing secret (shown this once)", 400, 401, 403,
                                 415, 422, 429, 503))
@requires(Permission.NOTIFICATION_MANAGE)
@answers_with_a_secret
def create(request: Annotated[DestinationRequest, Body()]) -> Response[DestinationCreated]:
    created = uc.create(notification_store(), current_user(router), request)
    return created_at(router, f"/api/v1/notifications/{created.id}",
                      {**destination_view(created), "secret": created.secret})


@router.get("/notifications", operation_id="listNotifications", summary="The tenant's notification destinations",
            tags=TAGS, responses=responses(200, "Destinations, newest first (never their secrets)", 304, 401, 403,
                                           429, 503))
@requires(Permission.NOTIFICATION_MANAGE)
def list_all() -> DestinationList:
    return {"items": [destination_view(d) for d in uc.list_destinations(notification_store(),
                                                                         current_user(router))]}


@router.get("/notifications/<destination_id>", operation_id="getNotification", summary="One destination",
            tags=TAGS, responses=responses(200, "The destination (without its secret)", 304, 401, 403, 404, 429, 503))
@requires(Permission.NOTIFICATION_MANAGE)
def get(destination_id: DestinationId) -> DestinationOut:
    return destination_view(uc.get(notification_store(), current_user(router), destination_id))


@router.delete("/notifications/<destination_id>", operation_id="deleteNotification",
               summary="Remove a destination (its delivery records go with it)", tags=TAGS,
               responses=responses(204, "Deleted", 401, 403, 404, 429, 503, empty=True))
@requires(Permission.NOTIFICATION_MANAGE)
def delete(destination_id: DestinationId) -> None:
    uc.delete(notification_store(), current_user(router), destination_id)
    return no_content()


@router.get("/notifications/<destination_id>/deliveries", operation_id="listNotificationDeliveries",
            summary="The destination's latest deliveries and their outcomes", tags=TAGS,
            responses=responses(200, "The last 50 deliveries, newest first", 304, 401, 403, 404, 429, 503))
@requires(Permission.NOTIFICATION_MANAGE)
def deliveries(destination_id: DestinationId) -> DeliveryList:
    return {"items": [delivery_view(d) for d in uc.deliveries(notification_store(), current_user(router),
                                                              destination_id)]}
