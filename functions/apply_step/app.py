"""ApplyBatch: apply one batch of plan steps through the simulated provider, each step once (Powertools
Idempotency keyed by the step)."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.idempotency import once_per_step
from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import BatchTaskInput, StepTaskInput
from orchestrator.wiring import services


@once_per_step("apply")
def apply(task: StepTaskInput) -> dict:
    return workflow_tasks.apply_step(services(), task.deployment_id, task.step_id, task.correlation_id)


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BatchTaskInput)
def handler(task: BatchTaskInput, context):
    apply.config.register_lambda_context(context)

    def apply_one(step_id: str) -> dict:
        return apply(task=StepTaskInput(deployment_id=task.deployment_id, tenant_id=task.tenant_id,
                                        correlation_id=task.correlation_id, step_id=step_id))

    outcome = workflow_tasks.run_batch(services(), task.deployment_id, task.batch, apply_one,
                                       stage_width=task.stage_width, max_concurrency=task.max_concurrency)
    for result in outcome.pop("results"):
        if result.get("duration_seconds") is not None:
            metrics.add_metric(name="ApplyDuration", unit=MetricUnit.Seconds, value=result["duration_seconds"])
    return outcome
