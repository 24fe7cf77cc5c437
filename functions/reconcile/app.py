"""The scheduled recovery sweep (EventBridge): roll back deployments whose execution ended without recording an
outcome, and mark failed those that had applied nothing."""

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import reconcile
from orchestrator.wiring import services


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context):
    settled = reconcile.settle_orphans(services())
    metrics.add_metric(name="DeploymentsRecovered", unit=MetricUnit.Count, value=len(settled))
    logger.info("recovery sweep finished", extra={"deployments_settled": len(settled)})
    return {"deployments_settled": settled}
