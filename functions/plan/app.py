"""PlanDeployment: build and store the plan; return its id and the compact wave list."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.observability import logger, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import TaskInput
from orchestrator.wiring import services


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@event_parser(model=TaskInput)
def handler(task: TaskInput, context):
    return workflow_tasks.plan_deployment(services(), task.deployment_id, task.correlation_id)
