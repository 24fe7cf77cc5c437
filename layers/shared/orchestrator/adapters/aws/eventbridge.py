"""EventBridge adapter of the EventPublisher port: domain events on the custom bus."""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import client

log = logging.getLogger(__name__)
SOURCE = "orchestrator.deployments"


class EventBridgePublisher:
    def __init__(self, bus_name: str, *, region: str | None = None, timeout_seconds: float = 3.0):
        self._bus, self._region, self._timeout = bus_name, region, timeout_seconds

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Best effort: the database already holds the truth, so a lost notification must not fail a deployment."""
        try:
            response = client("events", region=self._region, timeout_seconds=self._timeout).put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, default=str),
                        "EventBusName": self._bus,
                    }
                ]
            )
            if response.get("FailedEntryCount"):
                log.warning("event %s was not accepted by the bus", detail_type)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not publish %s: %s", detail_type, type(exc).__name__)
