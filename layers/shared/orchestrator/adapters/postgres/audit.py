"""PostgreSQL adapter of the PlanAuditLog port (table plan_audit, migration 0012)."""

from __future__ import annotations

from psycopg.rows import dict_row
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

    def recent(self, tenant_id: str, limit: int) -> list[PlanAuditEntry]:
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {', '.join(_COLUMNS)} FROM plan_audit WHERE tenant_id = %s ORDER BY at DESC, id LIMIT %s",
                (tenant_id, limit)).fetchall()
        return [PlanAuditEntry(**{**row, "id": str(row["id"]), "estimated_monthly_cost":
                                  float(row["estimated_monthly_cost"])}) for row in rows]
