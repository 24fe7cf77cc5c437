"""What is checked before Powertools validates a request against its route's declaration, in this order:

1. the caller's permission for the route (`@requires`): a viewer gets 403 for a create, whatever its body;
2. a body route's media type: anything but JSON is 415;
3. no query parameter the route does not declare (422 naming it): a misspelt `?limt=` must not be ignored.

Powertools runs its request validation before any user middleware, so these live in a subclass of its
validation middleware (installed by `app.build_app`). The use cases still check permissions themselves: this only
orders the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from ..domain.errors import FieldError, ValidationFailed
from ..domain.users import Permission
from ..usecases.access import require
from .body import require_json
from .context import current_user, header

F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """Marks a route with the permission its use case will demand, so that 403 comes before 422."""

    def mark(fn: F) -> F:
        fn.permission = permission  # type: ignore[attr-defined]
        return fn

    return mark


class GuardedRequestValidation(OpenAPIRequestValidationMiddleware):
    def handler(self, app, next_middleware):
        route = app.context["_route"]
        permission = getattr(route.func, "permission", None)
        if permission is not None:
            require(current_user(app), permission)
        event = app.current_event
        if route.dependant.body_params and event.body:
            require_json(header(app, "Content-Type"))
        declared = {field.alias for field in route.dependant.query_params}
        # Only the documented API: Swagger UI's own route reads ?format= without declaring it.
        unknown = sorted(set(event.query_string_parameters or {}) - declared) if route.include_in_schema else []
        if unknown:
            takes = ", ".join(sorted(declared)) or "none"
            raise ValidationFailed([FieldError(("query", name), f"unknown query parameter (this route takes: {takes})",
                                               "extra_forbidden") for name in unknown])
        return super().handler(app, next_middleware)

    def _get_body(self, app):
        # The media type was checked above (JSON with parameters or a +json suffix); Powertools would also take
        # form data, which no route of ours accepts. Every body is an object: Powertools would validate the first
        # item of an array in its place.
        body = self._parse_json_data(app)
        if body is not None and not isinstance(body, dict):
            raise ValidationFailed([FieldError(("body",), "Input should be a JSON object", "model_type")])
        return body
