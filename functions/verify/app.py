"""VerifyDeployment, VerifyPhase and WatchBake: read applied resources back and compare them with the plan, and
watch a strategy's canary or green instances while they bake."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.observability import logger, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import VerifyInput
from orchestrator.wiring import services


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@event_parser(model=VerifyInput)
def handler(task: VerifyInput, context):
    if task.phase is None:
        return workflow_tasks.verify(services(), task.deployment_id, task.correlation_id)
    if task.check == "bake":
        return workflow_tasks.watch_bake(services(), task.deployment_id, task.phase, task.correlation_id)
    return workflow_tasks.verify_phase(services(), task.deployment_id, task.phase, task.correlation_id)
