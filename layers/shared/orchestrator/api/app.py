"""The API resolver: routers, error mapping, CORS, OpenAPI and Swagger UI."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response

from ..auth.tokens import InvalidToken
from ..domain.errors import DomainError
from ..observability import logger
from .errors import MalformedRequest, UnsupportedMediaType, error_body, to_http
from .openapi import document_bodies
from .routes import auth, cloud, deployments, drift, health

API_PREFIX = "/api/v1"


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=body, headers=headers or {})


def build_app(log: Logger = logger) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(cors=CORSConfig(allow_origin="*", max_age=600,
                                                 allow_headers=["Idempotency-Key", "X-Correlation-Id"]))
    for area in (auth, deployments, drift, cloud):
        app.include_router(area.router, prefix=API_PREFIX)
    app.include_router(health.router)

    @app.exception_handler([DomainError, InvalidToken, MalformedRequest, UnsupportedMediaType])
    def expected_error(exc: Exception) -> Response:
        status, body, headers = to_http(exc)
        if status >= 500:
            log.warning("dependency unavailable", extra={"error": type(exc).__name__, "status": status})
        return _json(status, body, headers)

    @app.exception_handler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        log.exception("unhandled error")
        return _json(500, error_body("internal error", "internal_error"))

    @app.not_found
    def not_found(exc: Exception) -> Response:
        return _json(404, error_body(f"no route {app.current_event.http_method} {app.current_event.path}",
                                     "not_found"))

    app.enable_swagger(path="/docs", title="Multi-cloud deployment orchestrator", version="1.0.0",
                       description="Plan, approve, apply, verify, roll back and scan for drift across AWS, "
                                   "Azure and GCP.")

    # No return annotation: Powertools builds a response model from every route's annotation (excluded ones too),
    # and `Response` has no pydantic schema, which made /openapi.json and /docs fail with a 500.
    @app.get("/openapi.json", include_in_schema=False)
    def openapi():
        schema = app.get_openapi_schema(title="Multi-cloud deployment orchestrator", version="1.0.0")
        return _json(200, document_bodies(schema.model_dump(mode="json", by_alias=True, exclude_none=True)))

    return app
