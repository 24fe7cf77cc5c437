"""The lifecycle's bookkeeping tasks: begin execution, start rollback, and record where a run ended."""

from aws_lambda_powertools.utilities.parser import event_parser

from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import workflow_tasks
from orchestrator.usecases.task_events import FinalizeInput
from orchestrator.wiring import services

OUTCOME_METRICS = {"completed": "DeploymentsCompleted", "rolled_back": "DeploymentsRolledBack",
                   "failed": "DeploymentsFailed"}


@logger.inject_lambda_context(correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FinalizeInput)
def handler(task: FinalizeInput, context):
    result = workflow_tasks.finalize(services(), task.deployment_id, task.outcome, task.correlation_id,
                                     error=task.error, reason=task.reason)
    if task.outcome in OUTCOME_METRICS:
        metrics.add_metric(name=OUTCOME_METRICS[task.outcome], unit=MetricUnit.Count, value=1)
    return result
