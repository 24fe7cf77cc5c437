"""PostgreSQL adapter of the NotificationStore port (migration 0006)."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from orchestrator.domain.notifications import Delivery, Destination

from .pool import Database
from .repositories import is_uuid

_DESTINATION = "id::text, tenant_id, name, url, format, events, secret, created_by, created_at"
_DELIVERY = "id::text, destination_id::text, event, deployment_id, outcome, attempts, status_code, error, at"


def _destination(row: dict[str, Any]) -> Destination:
    return Destination(**row)


class PgNotificationStore:
    def __init__(self, db: Database):
        self._db = db

    def add(self, destination: Destination) -> Destination:
        d = destination
        with self._db.connection() as conn:
            conn.execute(f"INSERT INTO notification_destinations ({_DESTINATION.replace('::text', '')}) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         (d.id, d.tenant_id, d.name, d.url, d.format.value, [e.value for e in d.events], d.secret,
                          d.created_by, d.created_at))
        return destination

    def list_for(self, tenant_id: str) -> list[Destination]:
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_DESTINATION} FROM notification_destinations WHERE tenant_id = %s "
                "ORDER BY created_at DESC, id", (tenant_id,)).fetchall()
        return [_destination(row) for row in rows]

    def get(self, tenant_id: str, destination_id: str) -> Destination | None:
        if not is_uuid(destination_id):
            return None
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_DESTINATION} FROM notification_destinations WHERE tenant_id = %s AND id = %s",
                (tenant_id, destination_id)).fetchone()
        return _destination(row) if row else None

    def delete(self, tenant_id: str, destination_id: str) -> bool:
        if not is_uuid(destination_id):
            return False
        with self._db.connection() as conn:
            row = conn.execute("DELETE FROM notification_destinations WHERE tenant_id = %s AND id = %s RETURNING id",
                               (tenant_id, destination_id)).fetchone()
        return row is not None

    def record(self, delivery: Delivery) -> None:
        d = delivery
        with self._db.connection() as conn:
            # A destination deleted meanwhile has nothing to record against.
            conn.execute(f"""
                INSERT INTO notification_deliveries ({_DELIVERY.replace('::text', '')})
                SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s
                WHERE EXISTS (SELECT 1 FROM notification_destinations WHERE id = %s)""",
                         (d.id, d.destination_id, d.event.value, d.deployment_id, d.outcome, d.attempts,
                          d.status_code, d.error, d.at, d.destination_id))

    def deliveries(self, destination_id: str, limit: int) -> list[Delivery]:
        if not is_uuid(destination_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_DELIVERY} FROM notification_deliveries WHERE destination_id = %s "
                "ORDER BY at DESC, id LIMIT %s", (destination_id, limit)).fetchall()
        return [Delivery(**row) for row in rows]
