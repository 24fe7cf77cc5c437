"""CloudFormation custom resource: apply pending database migrations and create the bootstrap admin on deploy."""

from orchestrator.observability import logger
from orchestrator.provisioning import handle_custom_resource


@logger.inject_lambda_context
def handler(event, context):
    return handle_custom_resource(event, context)
