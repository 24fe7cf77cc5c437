"""The scheduled drift scan (EventBridge): scan every completed deployment for drift, one report each."""

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import drift
from orchestrator.wiring import services


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context):
    done = drift.scan_all(services())
    metrics.add_metric(name="DriftItems", unit=MetricUnit.Count, value=done.drift_items)
    logger.info("scheduled drift scan finished",
                extra={"deployments": done.deployments_scanned, "drift_items": done.drift_items})
    return {"deployments_scanned": done.deployments_scanned, "drift_items": done.drift_items,
            "reports_with_drift": done.reports_with_drift}
