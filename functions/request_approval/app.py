"""WaitForApproval: store the task token and mark the deployment awaiting approval."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.observability import logger, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import ApprovalTaskInput
from orchestrator.wiring import services


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@event_parser(model=ApprovalTaskInput)
def handler(task: ApprovalTaskInput, context):
    return workflow_tasks.request_approval(services(), task.deployment_id, task.task_token, task.correlation_id)
