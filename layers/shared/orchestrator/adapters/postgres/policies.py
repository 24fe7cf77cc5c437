"""PostgreSQL adapter of the PolicyStore port (tables policies and freeze_windows, migration 0005)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from orchestrator.domain.errors import ConcurrencyConflict
from orchestrator.domain.lifecycle import new_id
from orchestrator.planning.freeze import FreezeWindow, FreezeWindowIn
from orchestrator.planning.policies import PolicyIn, TenantPolicy

from .pool import Database
from .repositories import is_uuid

_POLICY = "id::text, name, description, environments, enforcement, rule"
_WINDOW = "id::text, name, environments, reason, mode, starts_at, ends_at, cron, duration_minutes, timezone"


def _policy(row: dict[str, Any]) -> TenantPolicy:
    return TenantPolicy.model_validate(row)


def _window(row: dict[str, Any]) -> FreezeWindow:
    return FreezeWindow.model_construct(**row)  # validated on write; the cron and zone were checked then


class PgPolicyStore:
    def __init__(self, db: Database):
        self._db = db

    def _rows(self, sql: str, args: tuple) -> list[dict[str, Any]]:
        with self._db.connection() as conn:
            return conn.cursor(row_factory=dict_row).execute(sql, args).fetchall()

    def policies(self, tenant_id: str, defaults: Sequence[PolicyIn] = ()) -> list[TenantPolicy]:
        with self._db.connection() as conn:
            if defaults:
                # One statement: the marker and the defaults commit together, once per tenant ever.
                conn.execute("""
                    WITH marked AS (
                        INSERT INTO policy_defaults (tenant_id) VALUES (%s) ON CONFLICT DO NOTHING RETURNING tenant_id
                    )
                    INSERT INTO policies (id, tenant_id, name, description, enforcement, rule, created_by)
                    SELECT d.id, m.tenant_id, d.name, d.description, d.enforcement, d.rule, 'default'
                    FROM marked m, jsonb_to_recordset(%s::jsonb)
                        AS d(id uuid, name text, description text, enforcement text, rule jsonb)
                    ON CONFLICT (tenant_id, name) DO NOTHING""",
                             (tenant_id, Jsonb([{"id": new_id(), **p.model_dump(mode="json")} for p in defaults])))
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_POLICY} FROM policies WHERE tenant_id = %s ORDER BY name", (tenant_id,)).fetchall()
        return [_policy(r) for r in rows]

    def add_policy(self, tenant_id: str, policy: PolicyIn, actor: str) -> TenantPolicy:
        try:
            [row] = self._rows(f"""
                INSERT INTO policies (id, tenant_id, name, description, environments, enforcement, rule, created_by)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_POLICY}""",
                               (new_id(), tenant_id, policy.name, policy.description,
                                [e.value for e in policy.environments], policy.enforcement, Jsonb(policy.rule), actor))
        except psycopg.errors.UniqueViolation:
            raise ConcurrencyConflict(f"a policy named '{policy.name}' already exists") from None
        return _policy(row)

    def replace_policy(self, tenant_id: str, policy_id: str, policy: PolicyIn) -> TenantPolicy | None:
        if not is_uuid(policy_id):
            return None
        try:
            rows = self._rows(f"""
                UPDATE policies SET name = %s, description = %s, environments = %s, enforcement = %s, rule = %s
                WHERE tenant_id = %s AND id = %s RETURNING {_POLICY}""",
                              (policy.name, policy.description, [e.value for e in policy.environments],
                               policy.enforcement, Jsonb(policy.rule), tenant_id, policy_id))
        except psycopg.errors.UniqueViolation:
            raise ConcurrencyConflict(f"a policy named '{policy.name}' already exists") from None
        return _policy(rows[0]) if rows else None

    def delete_policy(self, tenant_id: str, policy_id: str) -> bool:
        if not is_uuid(policy_id):
            return False
        with self._db.connection() as conn:
            return conn.execute("DELETE FROM policies WHERE tenant_id = %s AND id = %s",
                                (tenant_id, policy_id)).rowcount > 0

    def freeze_windows(self, tenant_id: str) -> list[FreezeWindow]:
        return [_window(r) for r in self._rows(
            f"SELECT {_WINDOW} FROM freeze_windows WHERE tenant_id = %s ORDER BY name", (tenant_id,))]

    def add_freeze_window(self, tenant_id: str, window: FreezeWindowIn, actor: str) -> FreezeWindow:
        try:
            [row] = self._rows(f"""
                INSERT INTO freeze_windows (id, tenant_id, name, environments, reason, mode, starts_at, ends_at, cron,
                                            duration_minutes, timezone, created_by)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_WINDOW}""",
                               (new_id(), tenant_id, window.name, [e.value for e in window.environments],
                                window.reason, window.mode, window.starts_at, window.ends_at, window.cron,
                                window.duration_minutes, window.timezone, actor))
        except psycopg.errors.UniqueViolation:
            raise ConcurrencyConflict(f"a freeze window named '{window.name}' already exists") from None
        return _window(row)

    def delete_freeze_window(self, tenant_id: str, window_id: str) -> bool:
        if not is_uuid(window_id):
            return False
        with self._db.connection() as conn:
            return conn.execute("DELETE FROM freeze_windows WHERE tenant_id = %s AND id = %s",
                                (tenant_id, window_id)).rowcount > 0
