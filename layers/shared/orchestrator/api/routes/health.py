from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...usecases.health import readiness
from ...wiring import probes

router = APIGatewayRouter()
TAGS = ["health"]


@router.get("/health", summary="Liveness (no dependency checked)", tags=TAGS)
def health():
    return {"status": "ok"}


@router.get("/health/live", summary="Liveness (no dependency checked)", tags=TAGS)
def live():
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness: PostgreSQL, Redis and Step Functions answer", tags=TAGS)
def ready():
    ok, checks = readiness(probes())
    return Response(status_code=200 if ok else 503, content_type="application/json",
                    body={"status": "ok" if ok else "unavailable", "checks": checks})
