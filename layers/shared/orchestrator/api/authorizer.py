"""The Lambda authorizer's decision: verify the bearer token (a session JWT or an API token), allow the API, pass
the caller on as context.

Role and tenant checks happen in the API function (403/404 with our error shape); the authorizer only answers
"who is this" (401 otherwise, in API Gateway's own shape: it requires the literal message "Unauthorized"). API
Gateway caches the answer per Authorization header for the template's ReauthorizeEvery (60 s): a revoked or
expired token stops working within that time.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from ..auth.tokens import InvalidToken, bearer
from ..observability import logger
from ..usecases.tokens import authenticate
from ..wiring import token_settings, token_store


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(event: APIGatewayAuthorizerRequestEvent) -> dict:
    try:
        caller = authenticate(token_store(), token_settings(), bearer(event.headers.get("Authorization")))
    except InvalidToken as exc:
        logger.info("request refused", extra={"reason": str(exc)})
        raise Unauthorized() from None
    user = caller.user
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=user.id, region=arn.region, aws_account_id=arn.aws_account_id, api_id=arn.api_id,
        stage=arn.stage,
        # API Gateway passes these to the API function as requestContext.authorizer (strings only).
        context={"user_id": user.id, "username": user.username, "role": user.role.value,
                 "tenant_id": user.tenant_id, "token_kind": caller.kind, "token_id": caller.token_id,
                 "token_expires_at": str(caller.expires_at)},
    )
    response.allow_all_routes()
    return response.asdict()
