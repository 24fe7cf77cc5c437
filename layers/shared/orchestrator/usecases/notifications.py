"""Notification destinations (admins) and the delivery of domain events to them: signed, retried, recorded."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain.errors import NotFound, PermissionDenied
from ..domain.lifecycle import utcnow
from ..domain.notifications import (
    EVENT_BY_DETAIL_TYPE,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Delivery,
    Destination,
    NotificationEvent,
    NotificationFormat,
    body,
    refused_address,
    signature,
)
from ..domain.users import Permission, User
from ..ports.notifications import NotificationStore, WebhookError, WebhookRefused, WebhookSender

log = logging.getLogger(__name__)
ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 2.0)  # before the 2nd and 3rd attempts


class DestinationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .:@/+-]+$", description="What it is, e.g. 'ops'")
    url: str = Field(min_length=8, max_length=2048, description="http(s) URL the events are POSTed to",
                     examples=["https://hooks.example.com/orchestrator"])
    events: list[NotificationEvent] = Field(min_length=1, max_length=6, description="The events it wants")
    format: Literal["generic", "slack"] = Field(default="generic",
                                                description="generic JSON, or Slack's incoming-webhook body")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ValueError("must be an http:// or https:// URL with a host and no credentials")
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("must not contain spaces or control characters")
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            literal = None
        # Literal addresses are checked here; names are resolved and checked at each delivery (DNS may change).
        if literal is not None and not literal.is_loopback and refused_address(str(literal), allow_loopback=False):
            raise ValueError("must not point at a private, link-local or reserved address")
        return value

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[NotificationEvent]) -> list[NotificationEvent]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an event")
        return value


def _require_admin(user: User) -> None:
    if not user.can(Permission.NOTIFICATION_MANAGE):
        raise PermissionDenied(f"role '{user.role.value}' lacks permission '{Permission.NOTIFICATION_MANAGE.value}'")


def create(store: NotificationStore, user: User, request: DestinationRequest) -> Destination:
    """The new destination, with the secret deliveries are signed with (shown to the caller this once)."""
    _require_admin(user)
    return store.add(Destination(tenant_id=user.tenant_id, name=request.name, url=request.url,
                                 format=NotificationFormat(request.format), events=list(request.events),
                                 secret=secrets.token_hex(32), created_by=user.username))


def list_destinations(store: NotificationStore, user: User) -> list[Destination]:
    _require_admin(user)
    return store.list_for(user.tenant_id)


def get(store: NotificationStore, user: User, destination_id: str) -> Destination:
    _require_admin(user)
    found = store.get(user.tenant_id, destination_id)
    if found is None:
        raise NotFound(f"notification destination {destination_id} not found")
    return found


def delete(store: NotificationStore, user: User, destination_id: str) -> None:
    _require_admin(user)
    if not store.delete(user.tenant_id, destination_id):
        raise NotFound(f"notification destination {destination_id} not found")


def deliveries(store: NotificationStore, user: User, destination_id: str, limit: int = 50) -> list[Delivery]:
    return store.deliveries(get(store, user, destination_id).id, limit)


def deliver_event(store: NotificationStore, sender: WebhookSender, detail_type: str, detail: dict[str, Any], *,
                  sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Every destination of the event's tenant that wants it gets one signed POST, retried with backoff on
    errors and 5xx/429; each outcome is recorded. Returns the deliveries."""
    event = EVENT_BY_DETAIL_TYPE.get(detail_type)
    tenant_id = detail.get("tenant_id")
    if event is None or not tenant_id:
        return []
    at = utcnow()
    out = []
    for destination in store.list_for(str(tenant_id)):
        if event not in destination.events:
            continue
        payload = body(destination, event, detail, at)
        headers = {EVENT_HEADER: event.value, SIGNATURE_HEADER: signature(destination.secret, payload)}
        delivery = Delivery(destination_id=destination.id, event=event, deployment_id=detail.get("deployment_id"),
                            outcome="failed", attempts=0)
        for attempt in range(1, ATTEMPTS + 1):
            delivery.attempts = attempt
            try:
                delivery.status_code = sender.post(destination.url, payload, headers)
                delivery.error = None
            except WebhookRefused as exc:
                delivery.outcome, delivery.error = "refused", str(exc)
                break
            except WebhookError as exc:
                delivery.status_code, delivery.error = None, str(exc)
            if delivery.status_code is not None and 200 <= delivery.status_code < 300:
                delivery.outcome = "delivered"
                break
            if delivery.status_code is not None and delivery.status_code < 500 and delivery.status_code != 429:
                delivery.error = f"answered {delivery.status_code}"
                break  # the receiver refused it: sending it again will not help
            if attempt < ATTEMPTS:
                sleep(BACKOFF_SECONDS[attempt - 1])
        if delivery.outcome != "delivered" and delivery.error is None:
            delivery.error = f"answered {delivery.status_code}"
        store.record(delivery)
        log.info("notification %s to destination %s: %s after %d attempt(s)", event.value, destination.id,
                 delivery.outcome, delivery.attempts)
        out.append(delivery)
    return out
