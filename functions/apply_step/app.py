"""ApplyStep: apply one plan step through the simulated provider, once per step (Powertools Idempotency)."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.idempotency import once_per_step
from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import StepTaskInput
from orchestrator.wiring import services


@once_per_step("apply")
def apply(task: StepTaskInput) -> dict:
    return workflow_tasks.apply_step(services(), task.deployment_id, task.step_id, task.correlation_id)


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=StepTaskInput)
def handler(task: StepTaskInput, context):
    apply.config.register_lambda_context(context)
    result = apply(task=task)
    if result.get("duration_seconds") is not None:
        metrics.add_metric(name="ApplyDuration", unit=MetricUnit.Seconds, value=result["duration_seconds"])
    return result
