from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...usecases.health import readiness
from ...wiring import probes
from ..schemas import Liveness, Readiness, responses

router = APIGatewayRouter()
TAGS = ["health"]


@router.get("/health", operation_id="health", summary="Liveness (no dependency checked)", tags=TAGS,
            security=[{}],
            responses=responses(200, "The function answers"))
def health() -> Liveness:
    return {"status": "ok"}


@router.get("/health/live", operation_id="liveness", summary="Liveness (no dependency checked)", tags=TAGS,
            security=[{}],
            responses=responses(200, "The function answers"))
def live() -> Liveness:
    return {"status": "ok"}


@router.get("/health/ready", operation_id="readiness",
            summary="Readiness: PostgreSQL, Redis and Step Functions answer", tags=TAGS,
            security=[{}], responses={**responses(200, "Every dependency answers"), 503: {
                "description": "A dependency does not answer (see checks)",
                "content": {"application/json": {"model": Readiness}},
                "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}}})
def ready() -> Response[Readiness]:
    ok, checks = readiness(probes())
    return Response(status_code=200 if ok else 503, content_type="application/json",
                    headers={} if ok else {"Retry-After": "5"},
                    body={"status": "ok" if ok else "unavailable", "checks": checks})
