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
    reports = drift.scan_all(services())
    items = sum(len(r.items) for r in reports)
    metrics.add_metric(name="DriftItems", unit=MetricUnit.Count, value=items)
    logger.info("scheduled drift scan finished", extra={"deployments": len(reports), "drift_items": items})
    return {"deployments_scanned": len(reports), "drift_items": items,
            "reports_with_drift": [r.id for r in reports if r.has_drift]}
