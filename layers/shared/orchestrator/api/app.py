"""The API resolver: typed routers validated by Powertools, error mapping, conventions, CORS, and one OpenAPI
document (served as /openapi.json and used by Swagger UI at /docs)."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from ..auth.tokens import InvalidToken
from ..domain.errors import DomainError, FieldError, ValidationFailed
from ..domain.intent import field_error_from_pydantic
from ..observability import logger
from ..settings import get_settings
from .body import decode_json
from .conventions import PreconditionFailed, base_path, etags, idempotent_posts
from .errors import MalformedRequest, UnsupportedMediaType, error_body, to_http
from .guard import GuardedRequestValidation
from .routes import auth, cloud, deployments, drift, health, notifications, plans, policies

API_PREFIX = "/api/v1"
OPENAPI: dict[str, Any] = {
    "title": "Multi-cloud deployment orchestrator",
    "version": "1.0.0",
    "description": "Plan, approve, apply, verify, roll back and scan for drift across AWS, Azure and GCP.\n\n"
                   "Authorize with a bearer token: a session token from `POST /api/v1/auth/login` or an API token "
                   "from `POST /api/v1/auth/tokens`.",
    # Plain data, validated into Powertools' OpenAPI models only when a document is asked for: those models take
    # about a third of the function's cold import, and no other request needs them.
    "security_schemes": {"bearer": {"type": "http", "scheme": "bearer",
                                    "bearerFormat": "JWT (session) or orch_... (API token)"}},
    "security": [{"bearer": []}],
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=body, headers=headers or {})


def _field_errors(exc: RequestValidationError) -> ValidationFailed:
    """Powertools' errors in our shape. Body locations drop the leading "body", as the intent's own errors do."""
    found = []
    for err in exc.errors():
        loc = tuple(err.get("loc") or ())
        if loc[:1] == ("body",) and len(loc) > 1:
            loc = loc[1:]
        found.append(field_error_from_pydantic({**err, "loc": loc}) if loc else FieldError(("body",), err["msg"],
                                                                                          err["type"]))
    return ValidationFailed(found)


class ApiResolver(APIGatewayRestResolver):
    """Powertools keeps the request being resolved in class attributes (BaseRouter.current_event) and its routers'
    shared context: one request per process at a time. Lambda never runs two invocations in one process; the local
    cloud runs handlers in threads, and this lock gives it the same guarantee (uncontended in Lambda)."""

    _one_at_a_time = threading.Lock()

    def resolve(self, event, context):
        with self._one_at_a_time:
            return super().resolve(event, context)


def build_app(log: Logger = logger) -> APIGatewayRestResolver:
    app = ApiResolver(
        cors=CORSConfig(allow_origin=get_settings().cors_allow_origin, max_age=600,
                        allow_headers=["Idempotency-Key", "If-Match", "If-None-Match", "X-Correlation-Id"],
                        expose_headers=["ETag", "Location", "Idempotent-Replayed", "Retry-After"]),
        enable_validation=True, json_body_deserializer=decode_json)
    # Permission, media type and unknown query parameters are checked before the declared parameters (guard.py).
    app._request_validation_middleware = GuardedRequestValidation()
    app.use(middlewares=[idempotent_posts, etags])
    for area in (auth, deployments, plans, drift, cloud, policies, notifications):
        app.include_router(area.router, prefix=API_PREFIX)
    app.include_router(health.router)

    @app.exception_handler([DomainError, InvalidToken, MalformedRequest, UnsupportedMediaType])
    def expected_error(exc: Exception) -> Response:
        status, body, headers = to_http(exc)
        if status >= 500:
            log.warning("dependency unavailable", extra={"error": type(exc).__name__, "status": status})
        return _json(status, body, headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        status, body, headers = to_http(_field_errors(exc))
        return _json(status, body, headers)

    @app.exception_handler(PreconditionFailed)
    def stale(exc: PreconditionFailed) -> Response:
        return _json(412, error_body(str(exc), "precondition_failed", {"current_etag": exc.current}),
                     {"ETag": exc.current})

    @app.exception_handler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        log.exception("unhandled error")
        return _json(500, error_body("internal error", "internal_error"))

    @app.not_found
    def not_found(exc: Exception) -> Response:
        return _json(404, error_body(f"no route {app.current_event.http_method} {app.current_event.path}",
                                     "not_found"))

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return _swagger_ui(app)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():
        return Response(status_code=200, content_type="application/json", body=_openapi_document(app))

    return app


def _openapi_document(app: APIGatewayRestResolver) -> str:
    from aws_lambda_powertools.event_handler.openapi.models import Server

    return app.get_openapi_json_schema(servers=[Server(url=base_path(app) or "/")], **OPENAPI)


def _swagger_ui(app: APIGatewayRestResolver) -> Response:
    """Swagger UI with the document inline and authorization kept across reloads: what Powertools'
    `enable_swagger` serves, built on request so that registering it imports none of the OpenAPI models."""
    from pathlib import Path

    from aws_lambda_powertools.event_handler import openapi
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import (
        generate_oauth2_redirect_html,
        generate_swagger_html,
    )

    requested = (app.current_event.query_string_parameters or {}).get("format")
    if requested == "oauth2-redirect":
        return Response(status_code=200, content_type="text/html", body=generate_oauth2_redirect_html())
    document = _openapi_document(app).replace("</", "<\\/")  # no "</script>" can end the page's script early
    if requested == "json":
        return Response(status_code=200, content_type="application/json", body=document)
    assets = Path(openapi.__file__).parent / "swagger_ui"
    html = generate_swagger_html(document,
                                 (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                                 (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
                                 None, None, True)
    return Response(status_code=200, content_type="text/html", body=html)
