"""Lambda REQUEST authorizer: a valid bearer token allows the call and hands the caller to the API function."""

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)

from orchestrator.api.authorizer import authorize
from orchestrator.observability import logger


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context):
    return authorize(event)
