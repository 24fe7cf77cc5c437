"""UndoBatch: undo one batch of applied steps during a rollback, each step once (Powertools Idempotency keyed by
the step)."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.idempotency import once_per_step
from orchestrator.observability import logger, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import BatchTaskInput, StepTaskInput
from orchestrator.wiring import services


@once_per_step("undo")
def undo(task: StepTaskInput) -> dict:
    return workflow_tasks.undo_step(services(), task.deployment_id, task.step_id, task.correlation_id)


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@event_parser(model=BatchTaskInput)
def handler(task: BatchTaskInput, context):
    undo.config.register_lambda_context(context)

    def undo_one(step_id: str) -> dict:
        return undo(task=StepTaskInput(deployment_id=task.deployment_id, tenant_id=task.tenant_id,
                                       correlation_id=task.correlation_id, step_id=step_id))

    outcome = workflow_tasks.run_batch(services(), task.deployment_id, task.batch, undo_one, undo=True,
                                       stage_width=task.stage_width, max_concurrency=task.max_concurrency)
    outcome.pop("results")
    return outcome
