from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.errors import ActionNotAllowed, NotFound
from ...domain.users import Permission
from ...usecases import auth, tokens
from ...usecases.auth import Credentials, Registration
from ...usecases.tokens import TokenRequest
from ...wiring import services, token_settings, token_store
from ..context import current_token, current_user
from ..conventions import answers_with_a_secret, created_at, no_content
from ..guard import requires
from ..params import ID_TEXT, IdempotencyKey
from ..schemas import AccessToken, TokenCreated, TokenList, TokenOut, UserOut, responses
from ..views import token_view, user_view

router = APIGatewayRouter()
TAGS = ["auth"]
TokenId = Annotated[str, Path(description="The token's id", min_length=1, max_length=64, pattern=ID_TEXT)]


@router.post("/auth/login", operation_id="login", summary="Exchange username and password for a session token",
             tags=TAGS, security=[{}],
             responses=responses(200, "A bearer token", 400, 401, 415, 422, 429, 503))
def login(credentials: Annotated[Credentials, Body()]) -> AccessToken:
    svc = services()
    return auth.login(svc.users, svc.attempts, token_settings(), credentials,
                      client_address=router.current_event.request_context.identity.source_ip or "unknown")


@router.get("/auth/me", operation_id="getCaller", summary="The caller", tags=TAGS,
            responses=responses(200, "The caller", 304, 401, 429, 503))
def me() -> UserOut:
    user = current_user(router)
    stored = services().users.get(user.id)
    return user_view(stored or user)


@router.post("/auth/register", operation_id="registerUser", summary="Create a user (admins only)",
             tags=TAGS,
             responses=responses(201, "Created", 400, 401, 403, 409, 415, 422, 429, 503))
@requires(Permission.USER_MANAGE)
def register(registration: Annotated[Registration, Body()],
             idempotency_key: IdempotencyKey = None) -> Response[UserOut]:
    created = auth.register(services().users, current_user(router), registration)
    return Response(status_code=201, content_type="application/json", body=user_view(created))


@router.post("/auth/tokens", operation_id="createApiToken", summary="Create an API token for a machine", tags=TAGS,
             responses=responses(201, "The token, with its secret (shown this once)", 400, 401, 403, 415, 422, 429,
                                 503))
@answers_with_a_secret
def create_token(request: Annotated[TokenRequest, Body()]) -> Response[TokenCreated]:
    token, secret = tokens.create_token(token_store(), current_user(router), request)
    shown = {k: v for k, v in token_view(token).items() if k != "revoked_at"}  # a new token is not revoked
    return created_at(router, f"/api/v1/auth/tokens/{token.id}", {**shown, "token": secret})


@router.get("/auth/tokens", operation_id="listApiTokens", summary="The caller's API tokens (never their secrets)",
            tags=TAGS, responses=responses(200, "The caller's tokens, newest first", 304, 401, 429, 503))
def list_tokens() -> TokenList:
    return {"items": [token_view(t) for t in tokens.list_tokens(token_store(), current_user(router))]}


@router.get("/auth/tokens/<token_id>", operation_id="getApiToken", summary="One of the caller's API tokens",
            tags=TAGS, responses=responses(200, "The token (without its secret)", 304, 401, 404, 429, 503))
def get_token(token_id: TokenId) -> TokenOut:
    found = next((t for t in tokens.list_tokens(token_store(), current_user(router)) if t.id == token_id), None)
    if found is None:
        raise NotFound(f"token {token_id} not found")
    return token_view(found)


@router.delete("/auth/tokens/<token_id>", operation_id="revokeApiToken",
               summary="Revoke one of the caller's API tokens", tags=TAGS,
               responses=responses(204, "Revoked (it stops working within 60 s)", 401, 404, 429, 503, empty=True))
def revoke_token(token_id: TokenId) -> None:
    tokens.revoke_token(token_store(), current_user(router), token_id)
    return no_content()


@router.post("/auth/logout", operation_id="logout", summary="End this session: its token stops working", tags=TAGS,
             responses=responses(204, "Logged out (within 60 s everywhere)", 401, 409, 429, 503, empty=True))
def logout(idempotency_key: IdempotencyKey = None) -> None:
    kind, token_id, expires_at = current_token(router)
    if kind != "session":
        raise ActionNotAllowed("log out", "token", kind, ["session"])
    tokens.logout(token_store(), token_id, expires_at)
    return no_content()


@router.post("/auth/refresh", operation_id="refreshSession",
             summary="A new session token for the caller; this one is revoked", tags=TAGS,
             responses=responses(200, "A new bearer token", 401, 403, 409, 429, 503))
@answers_with_a_secret
def refresh() -> AccessToken:
    kind, token_id, expires_at = current_token(router)
    if kind != "session":
        raise ActionNotAllowed("refresh", "token", kind, ["session"])
    return tokens.refresh(token_store(), services().users, token_settings(), current_user(router), token_id,
                          expires_at)
