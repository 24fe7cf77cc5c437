"""Per-request facts the routes need beyond their declared parameters: the caller and its token (from the
authorizer's context), the correlation id, a header by name."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from ..auth.tokens import InvalidToken
from ..domain.users import Role, User


def current_user(app: BaseRouter) -> User:
    """API Gateway put the authorizer's verdict in requestContext.authorizer; no verdict means no access."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    try:
        return User(id=context["user_id"], username=context["username"], email=context.get("email", ""),
                    role=Role(context["role"]), tenant_id=context["tenant_id"])
    except (KeyError, ValueError):
        raise InvalidToken("missing or invalid authorizer context") from None


def current_token(app: BaseRouter) -> tuple[str, str, int]:
    """(kind "session" or "api", its id, its expiry as epoch seconds), as the authorizer verified them."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    try:
        return context["token_kind"], context["token_id"], int(context["token_expires_at"])
    except (KeyError, ValueError):
        raise InvalidToken("missing or invalid authorizer context") from None


def correlation_id(app: BaseRouter) -> str:
    headers = app.current_event.headers or {}
    for name, value in headers.items():
        if name.lower() == "x-correlation-id" and value:
            return value[:128]
    return app.current_event.request_context.request_id or "unknown"


def header(app: BaseRouter, name: str) -> str | None:
    for key, value in (app.current_event.headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None
