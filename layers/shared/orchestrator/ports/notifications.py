"""Ports: where notification destinations and deliveries are kept (PostgreSQL), and how a webhook is called."""

from __future__ import annotations

from typing import Protocol

from ..domain.notifications import Delivery, Destination


class NotificationStore(Protocol):
    def add(self, destination: Destination) -> Destination: ...

    def list_for(self, tenant_id: str) -> list[Destination]:
        """The tenant's destinations, newest first."""
        ...

    def get(self, tenant_id: str, destination_id: str) -> Destination | None: ...

    def delete(self, tenant_id: str, destination_id: str) -> bool: ...

    def record(self, delivery: Delivery) -> None: ...

    def deliveries(self, destination_id: str, limit: int) -> list[Delivery]:
        """The latest deliveries, newest first."""
        ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST once; the HTTP status. Raises WebhookRefused (the address may not be called) or WebhookError."""
        ...


class WebhookError(Exception):
    """The call did not get an answer (connection refused, timeout, bad URL)."""


class WebhookRefused(WebhookError):
    """The URL resolves to an address webhooks may not reach."""
