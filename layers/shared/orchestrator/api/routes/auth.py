from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...usecases import auth
from ...wiring import services, token_settings
from ..context import current_user, json_body
from ..views import user_view

router = APIGatewayRouter()


@router.post("/auth/login", summary="Exchange username and password for a bearer token", tags=["auth"])
def login():
    svc = services()
    return auth.login(svc.users, svc.attempts, token_settings(), json_body(router),
                      client_address=router.current_event.request_context.identity.source_ip or "unknown")


@router.get("/auth/me", summary="The caller", tags=["auth"])
def me():
    user = current_user(router)
    stored = services().users.get(user.id)
    return user_view(stored or user)


@router.post("/auth/register", summary="Create a user (admins only)", tags=["auth"])
def register():
    created = auth.register(services().users, current_user(router), json_body(router))
    return Response(status_code=201, content_type="application/json", body=user_view(created))
