"""The REST API: every /api/v1 route, health, OpenAPI and Swagger UI (routers in orchestrator.api)."""

from aws_lambda_powertools.logging import correlation_paths

from orchestrator.api.app import build_app
from orchestrator.idempotency import once_per_request_key
from orchestrator.observability import logger, metrics, tracer

app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    # An Idempotency-Key whose request crashes or times out is then free again after this invocation's timeout,
    # not held "in progress" for the whole 24 h the answers are kept.
    once_per_request_key.config.register_lambda_context(context)
    return app.resolve(event, context)
