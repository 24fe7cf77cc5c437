"""Per-request facts the routes need: the caller (from the authorizer's context), the correlation id, the body."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from ..auth.tokens import InvalidToken
from ..domain.errors import FieldError, ValidationFailed
from ..domain.users import Role, User
from .errors import MalformedRequest


def current_user(app: BaseRouter) -> User:
    """API Gateway put the authorizer's verdict in requestContext.authorizer; no verdict means no access."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    try:
        return User(id=context["user_id"], username=context["username"], email=context.get("email", ""),
                    role=Role(context["role"]), tenant_id=context["tenant_id"])
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
    if app.current_event.is_base64_encoded:
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(body, dict):
        raise MalformedRequest("request body must be a JSON object")
    return body


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
