"""PostgreSQL adapter of the PlanAuditLog port (table plan_audit, migration 0012)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from orchestrator.ports.audit import PlanAuditEntry

from .pool import Database

_COLUMNS = ("id", "tenant_id", "at", "actor_id", "actor", "stack", "environment", "plan_id",
            "by_action", "has_changes", "blocked", "estimated_monthly_cost", "risk", "correlation_id")


class PgPlanAuditLog:
    def __init__(self, db: Database):
        self._db = db

    def record(self, entry: PlanAuditEntry) -> None:
        values = {name: getattr(entry, name) for name in _COLUMNS}
        values["by_action"] = Jsonb(entry.by_action)
        with self._db.connection() as conn:
            conn.execute(f"INSERT INTO plan_audit ({', '.join(_COLUMNS)}) "
                         f"VALUES ({', '.join(f'%({name})s' for name in _COLUMNS)})", values)
