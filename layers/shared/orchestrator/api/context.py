"""Per-request facts the routes need: the caller (from the authorizer's context), the correlation id, the body."""

from __future__ import annotations

import base64
import re
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from ..auth.tokens import InvalidToken
from ..domain.errors import FieldError, ValidationFailed
from ..domain.users import Role, User
from .body import UNSTORABLE_MESSAGE, decode_json, require_json, storable
from .errors import MalformedRequest


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


def json_body(app: BaseRouter, *, required: bool = True) -> Any:
    raw = app.current_event.body
    if raw in (None, ""):
        if required:
            raise MalformedRequest("request body must be a JSON object")
        return {}
    require_json(header(app, "Content-Type"))
    body = decode_json(base64.b64decode(raw) if app.current_event.is_base64_encoded else raw)
    if not isinstance(body, dict):
        raise MalformedRequest("request body must be a JSON object")
    return body


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def idempotency_key(app: BaseRouter) -> str | None:
    """The Idempotency-Key header: absent, or 1-255 visible ASCII characters (an empty one is a mistake, not
    "no key")."""
    value = header(app, "Idempotency-Key")
    if value is not None and not IDEMPOTENCY_KEY.match(value):
        raise ValidationFailed([FieldError(("header", "Idempotency-Key"),
                                           "must be 1 to 255 visible ASCII characters", "string_pattern_mismatch")])
    return value


def query_text(app: BaseRouter, name: str) -> str | None:
    raw = app.current_event.get_query_string_value(name)
    if raw is not None and not storable(raw):
        raise ValidationFailed([FieldError(("query", name), UNSTORABLE_MESSAGE, "unstorable_text")])
    return raw or None


def query_int(app: BaseRouter, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = app.current_event.get_query_string_value(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed([FieldError(("query", name), "must be an integer", "int_parsing")]) from None
    if not minimum <= value <= maximum:
        raise ValidationFailed([FieldError(("query", name), f"must be between {minimum} and {maximum}",
                                            "out_of_range")])
    return value
