"""Notifications: webhook destinations, the events they want, the payload they get and its signature. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from .lifecycle import new_id, utcnow


class NotificationEvent(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    DRIFT_DETECTED = "drift_detected"
    POLICY_BLOCKED = "policy_blocked"


class NotificationFormat(StrEnum):
    GENERIC = "generic"
    SLACK = "slack"  # Slack incoming-webhook body: {"text": ...} (the generic fields ride along)


# The domain event types on the bus (detail-type) and the notification event each one is.
EVENT_BY_DETAIL_TYPE = {
    "DeploymentAwaitingApproval": NotificationEvent.AWAITING_APPROVAL,
    "DeploymentCompleted": NotificationEvent.COMPLETED,
    "DeploymentFailed": NotificationEvent.FAILED,
    "DeploymentRolledBack": NotificationEvent.ROLLED_BACK,
    "DriftDetected": NotificationEvent.DRIFT_DETECTED,
    "DeploymentPolicyBlocked": NotificationEvent.POLICY_BLOCKED,
}


class Destination(BaseModel):
    id: str = Field(default_factory=new_id)
    tenant_id: str
    name: str
    url: str
    format: NotificationFormat = NotificationFormat.GENERIC
    events: list[NotificationEvent]
    secret: str = Field(repr=False)
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(BaseModel):
    id: str = Field(default_factory=new_id)
    destination_id: str
    event: NotificationEvent
    deployment_id: str | None = None
    outcome: str  # delivered | failed | refused
    attempts: int
    status_code: int | None = None
    error: str | None = None
    at: datetime = Field(default_factory=utcnow)


SIGNATURE_HEADER = "X-Orchestrator-Signature"
EVENT_HEADER = "X-Orchestrator-Event"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`: what a receiver recomputes with its copy of the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body(destination: Destination, event: NotificationEvent, detail: dict[str, Any], at: datetime) -> bytes:
    document: dict[str, Any] = {
        "event": event.value, "deployment_id": detail.get("deployment_id"), "status": detail.get("status"),
        "tenant_id": detail.get("tenant_id"), "at": at.isoformat(), "name": detail.get("name"),
        "environment": detail.get("environment"), "message": detail.get("error_message") or detail.get("summary"),
    }
    if destination.format == NotificationFormat.SLACK:
        what = f"deployment {document['name'] or document['deployment_id']}"
        text = f"[{document['environment'] or '-'}] {what}: {event.value.replace('_', ' ')}"
        if document["message"]:
            text += f" - {document['message']}"
        document = {"text": text, **document}
    return json.dumps(document, sort_keys=True, default=str).encode()


def refused_address(address: str, *, allow_loopback: bool) -> str | None:
    """Why an address may not be called (private, loopback, link-local, ...), or None. SSRF guard: a webhook must
    not reach the VPC, the metadata service or this host."""
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for reason, flag in (("private", ip.is_private), ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                         ("reserved", ip.is_reserved), ("unspecified", ip.is_unspecified)):
        if flag:
            return reason
    return None
