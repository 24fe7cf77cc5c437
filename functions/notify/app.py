"""Domain events from the bus (EventBridge rule) to the webhook destinations that want them."""

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from orchestrator.observability import MetricUnit, logger, metrics, tracer
from orchestrator.usecases import notifications
from orchestrator.wiring import notification_store, webhook_sender


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context):
    sent = notifications.deliver_event(notification_store(), webhook_sender(), event.detail_type, event.detail)
    failed = sum(1 for d in sent if d.outcome != "delivered")
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=failed)
    return {"deliveries": len(sent), "failed": failed}
