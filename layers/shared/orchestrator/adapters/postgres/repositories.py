"""PostgreSQL adapters of the repository ports.

Round trips are counted (bench/db.py): a state change and its audit rows travel as one statement (a data-modifying
CTE), list pages carry their total in a window column, and nothing issues a query per row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from orchestrator.domain.errors import ConcurrencyConflict
from orchestrator.domain.intent import DeploymentIntent
from orchestrator.domain.lifecycle import SETTLED, Approval, Deployment, DeploymentStatus, DomainEvent
from orchestrator.domain.steps import StepRun, StepStatus
from orchestrator.domain.users import Role, User
from orchestrator.drift.report import DriftItem, DriftReport
from orchestrator.planning.plan import Plan
from orchestrator.ports.locks import Lease
from orchestrator.ports.repositories import (
    UNCHANGED,
    Claim,
    DeploymentHead,
    DeploymentSummary,
    Page,
    PlanHeadline,
    PlannedStep,
    StepCounts,
    _Unchanged,
)

from .fencing import check_lease
from .pool import Database


def is_uuid(value: str) -> bool:
    """Ids come from URLs: anything that is not a UUID cannot name a row (and must not reach a uuid cast)."""
    try:
        uuid.UUID(value)
        return True
    except (ValueError, TypeError, AttributeError):
        return False


def _event_rows(events: list[DomainEvent]) -> Jsonb:
    return Jsonb([{
        "deployment_id": e.deployment_id, "at": e.at.isoformat(), "type": e.type.value, "actor": e.actor,
        "from_status": e.from_status.value if e.from_status else None,
        "to_status": e.to_status.value if e.to_status else None, "detail": e.detail,
        "correlation_id": e.correlation_id,
    } for e in events])


# Appends the pending events of the row a CTE named `target` returned (id, tenant_id).
_APPEND_EVENTS = """
events AS (
    INSERT INTO deployment_events (deployment_id, tenant_id, at, type, actor, from_status, to_status, detail,
                                   correlation_id)
    SELECT target.id, target.tenant_id, e.at, e.type, e.actor, e.from_status, e.to_status,
           coalesce(e.detail, '{}'::jsonb), e.correlation_id
    FROM target, jsonb_to_recordset(%(events)s::jsonb)
        AS e(at timestamptz, type text, actor text, from_status text, to_status text, detail jsonb,
             correlation_id text)
)"""

_DEPLOYMENT_COLUMNS = """id::text, tenant_id, status, intent, plan_id, execution_arn, approval_required,
    approval_requested_at, decided_by, decided_at, approval_comment, overridden_by, override_reason, initiated_by,
    version, error_message, created_at, updated_at, phase, phase_started_at, phase_ends_at"""


# A deployment's list row: its intent's figures are read in the database, never the intent itself.
_SUMMARY_COLUMNS = """id::text, tenant_id, name, description, status, environment, strategy,
    ARRAY(SELECT jsonb_array_elements_text(intent->'target_providers')) AS providers,
    jsonb_array_length(intent->'resources') AS resource_count, initiated_by, execution_arn, error_message, created_at,
    updated_at, phase, phase_ends_at"""


def _summary(r: dict[str, Any]) -> DeploymentSummary:
    return DeploymentSummary(
        id=r["id"], tenant_id=r["tenant_id"], name=r["name"], description=r["description"],
        status=DeploymentStatus(r["status"]), environment=r["environment"], strategy=r["strategy"],
        providers=r["providers"], resource_count=r["resource_count"], initiated_by=r["initiated_by"],
        execution_arn=r["execution_arn"], error_message=r["error_message"], created_at=r["created_at"],
        updated_at=r["updated_at"], phase=r["phase"], phase_ends_at=r["phase_ends_at"])


def _approval(row: dict[str, Any]) -> Approval:
    return Approval(required=row["approval_required"], requested_at=row["approval_requested_at"],
                    decided_by=row["decided_by"], decided_at=row["decided_at"], comment=row["approval_comment"],
                    overridden_by=row["overridden_by"], override_reason=row["override_reason"])


def _deployment(row: dict[str, Any]) -> Deployment:
    return Deployment(
        id=row["id"], tenant_id=row["tenant_id"], initiated_by=row["initiated_by"],
        intent=DeploymentIntent.model_validate(row["intent"]), status=DeploymentStatus(row["status"]),
        version=row["version"], error_message=row["error_message"], plan_id=row["plan_id"],
        execution_arn=row["execution_arn"],
        approval=_approval(row),
        created_at=row["created_at"], updated_at=row["updated_at"],
        phase=row["phase"], phase_started_at=row["phase_started_at"], phase_ends_at=row["phase_ends_at"],
    )


class PgDeploymentRepository:
    def __init__(self, db: Database):
        self._db = db

    def add(self, deployment: Deployment, *, idempotency_key: str | None = None) -> Deployment:
        intent = deployment.intent
        params = {
            "id": deployment.id, "tenant_id": deployment.tenant_id, "name": intent.name,
            "description": intent.description, "environment": intent.environment.value,
            "strategy": intent.strategy.value, "status": deployment.status.value,
            "intent": Jsonb(intent.model_dump(mode="json")), "initiated_by": deployment.initiated_by,
            "key": idempotency_key, "created_at": deployment.created_at,
            "updated_at": deployment.updated_at, "events": _event_rows(deployment.pending_events),
        }
        with self._db.connection() as conn:
            row = conn.execute(f"""
                WITH target AS (
                    INSERT INTO deployments (id, tenant_id, name, description, environment, strategy, status, intent,
                                             initiated_by, idempotency_key, created_at, updated_at)
                    VALUES (%(id)s, %(tenant_id)s, %(name)s, %(description)s, %(environment)s, %(strategy)s,
                            %(status)s, %(intent)s, %(initiated_by)s, %(key)s, %(created_at)s, %(updated_at)s)
                    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
                    RETURNING id, tenant_id
                ), {_APPEND_EVENTS}
                SELECT id FROM target""", params).fetchone()
            if row is None:  # the key was used before: answer with what the first request created
                first = conn.cursor(row_factory=dict_row).execute(
                    f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE tenant_id = %s AND idempotency_key = %s",
                    (deployment.tenant_id, idempotency_key)).fetchone()
                return _deployment(first)
        deployment.pull_events()
        deployment.version = 1
        return deployment

    def get(self, deployment_id: str, *, tenant_id: str | None = None) -> Deployment | None:
        if not is_uuid(deployment_id):
            return None
        sql = f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE id = %s"
        args: tuple = (deployment_id,)
        if tenant_id is not None:
            sql += " AND tenant_id = %s"
            args += (tenant_id,)
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(sql, args).fetchone()
        return _deployment(row) if row else None

    def head(self, deployment_id: str, *, tenant_id: str) -> DeploymentHead | None:
        if not is_uuid(deployment_id):
            return None
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(f"""
                SELECT {_SUMMARY_COLUMNS}, approval_required, approval_requested_at, decided_by, decided_at,
                       approval_comment, overridden_by, override_reason
                FROM deployments WHERE id = %s AND tenant_id = %s""", (deployment_id, tenant_id)).fetchone()
        return DeploymentHead(_summary(row), _approval(row)) if row else None

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        if not is_uuid(deployment_id):
            return None
        with self._db.connection() as conn:
            row = conn.execute("SELECT status FROM deployments WHERE id = %s", (deployment_id,)).fetchone()
        return DeploymentStatus(row[0]) if row else None

    def get_plan(self, deployment_id: str) -> Plan | None:
        if not is_uuid(deployment_id):
            return None
        with self._db.connection() as conn:
            row = conn.execute("SELECT plan FROM deployments WHERE id = %s", (deployment_id,)).fetchone()
        return Plan.model_validate(row[0]) if row and row[0] else None

    def plan_headline(self, deployment_id: str, *, list_limit: int) -> PlanHeadline | None:
        if not is_uuid(deployment_id):
            return None
        # The plan document is read (detoasted) once, in the inner query, without its steps and waves; the outer one
        # cuts each growing list there, so what crosses the wire is bounded whatever the plan's size.
        paths = {name: f"$.policy.{name}" if name in ("violations", "warnings", "overridable") else f"$.{name}"
                 for name in PlanHeadline.LISTED if name != "phases"}
        cut = ", ".join(f"jsonb_path_query_array(head, '{path}[0 to {list_limit - 1}]') AS \"{name}\", "
                        f"jsonb_array_length(coalesce(jsonb_path_query_first(head, '{path}'), '[]')) AS \"n_{name}\""
                        for name, path in paths.items())
        # Phases are listed with their step counts, not their step ids (a rolling batch may hold thousands).
        phases = f"""(SELECT coalesce(jsonb_agg(jsonb_build_object('name', ph->'name', 'kind', ph->'kind',
                             'bake_seconds', ph->'bake_seconds', 'steps', jsonb_array_length(ph->'steps'))
                             ORDER BY n), '[]')
                      FROM jsonb_array_elements(coalesce(head->'phases', '[]')) WITH ORDINALITY AS x(ph, n)
                      WHERE n <= {int(list_limit)}) AS phases,
                     jsonb_array_length(coalesce(head->'phases', '[]')) AS n_phases"""
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(f"""
                SELECT head - 'critical_path' - 'policy_results' - 'blast_radius' - 'policy' - 'phases' AS figures,
                       {cut}, {phases}
                FROM (SELECT plan - 'steps' - 'waves' AS head FROM deployments WHERE id = %s AND plan IS NOT NULL
                      OFFSET 0) AS p""", (deployment_id,)).fetchone()
        if row is None:
            return None
        return PlanHeadline(figures=row["figures"], lists={name: row[name] for name in PlanHeadline.LISTED},
                            totals={name: row[f"n_{name}"] for name in PlanHeadline.LISTED})

    def list(self, tenant_id: str, *, status: DeploymentStatus | None = None, environment: str | None = None,
             limit: int = 50, offset: int = 0) -> Page:
        where, args = ["tenant_id = %s"], [tenant_id]
        if status is not None:
            where.append("status = %s")
            args.append(status.value)
        if environment is not None:
            where.append("environment = %s")
            args.append(environment)
        condition = " AND ".join(where)
        with self._db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(f"""
                SELECT {_SUMMARY_COLUMNS}, count(*) OVER () AS total
                FROM deployments WHERE {condition}
                ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s""", (*args, limit, offset)).fetchall()
            if rows:
                total = rows[0]["total"]
            else:  # past the last page: the window column has no row to ride on
                total = cur.execute(f"SELECT count(*) AS n FROM deployments WHERE {condition}", args).fetchone()["n"]
        return Page(items=[_summary(r) for r in rows], total=total)

    def save(self, deployment: Deployment, *, plan: Plan | None = None, steps: list[StepRun] | None = None,
             task_token: str | None | _Unchanged = UNCHANGED) -> Deployment:
        approval = deployment.approval
        params: dict[str, Any] = {
            "id": deployment.id, "version": deployment.version, "status": deployment.status.value,
            "error_message": deployment.error_message, "execution_arn": deployment.execution_arn,
            "plan_id": deployment.plan_id, "approval_required": approval.required,
            "requested_at": approval.requested_at, "decided_by": approval.decided_by,
            "decided_at": approval.decided_at, "comment": approval.comment,
            "overridden_by": approval.overridden_by, "override_reason": approval.override_reason,
            "events": _event_rows(deployment.pending_events),
        }
        params["settled"] = deployment.status in SETTLED
        extra = ""
        if plan is not None:
            extra += ", plan = %(plan)s"
            params["plan"] = Jsonb(plan.model_dump(mode="json"))
        if not isinstance(task_token, _Unchanged):
            extra += ", approval_task_token = %(token)s"
            params["token"] = task_token
        # The execution is recorded apart (set_execution_arn), possibly after a task loaded the deployment: a save
        # never forgets it.
        sql = f"""
            WITH target AS (
                UPDATE deployments SET status = %(status)s, version = version + 1, error_message = %(error_message)s,
                    execution_arn = coalesce(%(execution_arn)s, execution_arn), plan_id = %(plan_id)s,
                    approval_required = %(approval_required)s, approval_requested_at = %(requested_at)s,
                    decided_by = %(decided_by)s, decided_at = %(decided_at)s, approval_comment = %(comment)s,
                    overridden_by = %(overridden_by)s, override_reason = %(override_reason)s{extra}
                WHERE id = %(id)s AND version = %(version)s
                RETURNING id, tenant_id, version, updated_at
            ), released AS (
                DELETE FROM resource_claims WHERE %(settled)s AND deployment_id IN (SELECT id FROM target)
            ), {_APPEND_EVENTS}
            SELECT version, updated_at FROM target"""
        # Without steps the change and its events are one statement, atomic on its own: one round trip, where
        # BEGIN ... COMMIT around it would cost three.
        with self._db.transaction(pipeline=True) if steps is not None else self._db.connection() as conn:
            row = conn.execute(sql, params).fetchone()
            if row is None:
                raise ConcurrencyConflict(
                    f"deployment {deployment.id} was changed by someone else (expected version {deployment.version})")
            if steps is not None:
                conn.execute("DELETE FROM deployment_steps WHERE deployment_id = %s", (deployment.id,))
                _insert_steps(conn, steps, plan)
        deployment.version, deployment.updated_at = row
        deployment.pull_events()
        return deployment

    def claim(self, tenant_id: str, deployment_id: str, identifiers: list[str]) -> list[Claim]:
        # Sorted, so two deployments claiming overlapping sets take the rows in one order (no deadlock).
        wanted = sorted(set(identifiers))
        held: list[dict[str, Any]] = []
        with self._db.transaction() as conn:
            rows = conn.execute("""
                INSERT INTO resource_claims (tenant_id, resource_identifier, deployment_id)
                SELECT %(tenant)s, identifier, %(id)s FROM unnest(%(wanted)s::text[]) AS identifier
                ON CONFLICT (tenant_id, resource_identifier) DO UPDATE
                    SET deployment_id = EXCLUDED.deployment_id, claimed_at = now()
                    WHERE resource_claims.deployment_id = EXCLUDED.deployment_id
                       OR NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = resource_claims.deployment_id
                                      AND NOT d.status = ANY(%(settled)s))
                RETURNING resource_identifier""",
                                {"tenant": tenant_id, "id": deployment_id, "wanted": wanted,
                                 "settled": [s.value for s in SETTLED]}).fetchall()
            if len(rows) == len(wanted):
                return []
            held = conn.cursor(row_factory=dict_row).execute("""
                SELECT c.resource_identifier, c.deployment_id::text, d.name, d.status
                FROM resource_claims c JOIN deployments d ON d.id = c.deployment_id
                WHERE c.tenant_id = %s AND c.resource_identifier = ANY(%s) AND c.deployment_id <> %s
                ORDER BY c.resource_identifier""", (tenant_id, wanted, deployment_id)).fetchall()
            raise psycopg.Rollback()  # all or nothing: a plan that cannot hold every resource holds none
        return [Claim(r["resource_identifier"], r["deployment_id"], r["name"], r["status"]) for r in held]

    def set_phase(self, deployment_id: str, phase: str | None, *, started_at: datetime | None = None,
                  ends_at: datetime | None = None) -> None:
        # Outside the optimistic version: the phase is progress the workflow reports, not a state change, so it
        # never conflicts with one (and a repeat writes nothing).
        with self._db.connection() as conn:
            conn.execute("""
                UPDATE deployments SET phase = %s, phase_started_at = %s, phase_ends_at = %s
                WHERE id = %s AND (phase, phase_started_at, phase_ends_at)
                    IS DISTINCT FROM (%s::text, %s::timestamptz, %s::timestamptz)""",
                         (phase, started_at, ends_at, deployment_id, phase, started_at, ends_at))

    def set_execution_arn(self, deployment_id: str, execution_arn: str) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE deployments SET execution_arn = %s WHERE id = %s", (execution_arn, deployment_id))

    def approval_token(self, deployment_id: str) -> str | None:
        if not is_uuid(deployment_id):
            return None
        with self._db.connection() as conn:
            row = conn.execute("SELECT approval_task_token FROM deployments WHERE id = %s",
                               (deployment_id,)).fetchone()
        return row[0] if row else None

    def events(self, deployment_id: str) -> list[DomainEvent]:
        if not is_uuid(deployment_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute("""
                SELECT type, deployment_id::text, at, actor, correlation_id, from_status, to_status, detail
                FROM deployment_events WHERE deployment_id = %s ORDER BY id""", (deployment_id,)).fetchall()
        return [DomainEvent(**{**r, "correlation_id": r["correlation_id"] or ""}) for r in rows]

    def event_page(self, deployment_id: str, *, after: int = 0, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        if not is_uuid(deployment_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute("""
                SELECT id AS sequence, type, deployment_id::text, at, actor, correlation_id, from_status, to_status,
                       detail
                FROM deployment_events WHERE deployment_id = %s AND id > %s ORDER BY id LIMIT %s""",
                                                             (deployment_id, after, limit)).fetchall()
        return [(r.pop("sequence"), DomainEvent(**{**r, "correlation_id": r["correlation_id"] or ""})) for r in rows]

    def append_events(self, events: list[DomainEvent], tenant_id: str) -> None:
        if not events:
            return
        with self._db.connection() as conn:
            conn.execute("""
                INSERT INTO deployment_events (deployment_id, tenant_id, at, type, actor, from_status, to_status,
                                               detail, correlation_id)
                SELECT e.deployment_id, %s, e.at, e.type, e.actor, e.from_status, e.to_status,
                       coalesce(e.detail, '{}'::jsonb), e.correlation_id
                FROM jsonb_to_recordset(%s::jsonb) AS e(deployment_id uuid, at timestamptz, type text, actor text,
                     from_status text, to_status text, detail jsonb, correlation_id text)""",
                                  (tenant_id, _event_rows(events)))

    def ids_in_status(self, status: DeploymentStatus, *, limit: int = 500,
                      after: str | None = None) -> list[tuple[str, str]]:
        with self._db.connection() as conn:
            rows = conn.execute("""
                SELECT id::text, tenant_id FROM deployments
                WHERE status = %s AND (%s::uuid IS NULL OR id > %s::uuid) ORDER BY id LIMIT %s""",
                                (status.value, after, after, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]


_STEP_COLUMNS = """deployment_id::text, step_id, tenant_id, wave, name, action, resource_identifier, status, attempt,
    idempotency_key, resource, before, result, provider_resource_id, error_message, started_at, finished_at,
    undone_at, stack, batch, undo_batch, phase, phase_name"""


# What a step list shows: not the resource spec, its inventory snapshot or the provider's result (JSON documents
# that a page of 1,000 steps has no use for).
_LISTED_STEP_COLUMNS = """deployment_id::text, step_id, tenant_id, wave, name, action, resource_identifier, status,
    attempt, idempotency_key, provider_resource_id, error_message, started_at, finished_at, undone_at, stack,
    provider, resource_type, planned, phase_name"""


def _step(row: dict[str, Any]) -> StepRun:
    return StepRun(**{**row, "status": StepStatus(row["status"])})


def _planned(plan: Plan | None) -> dict[str, dict[str, Any]]:
    """What the plan says of each step that the step's row keeps for step lists (see migration 0008)."""
    if plan is None:
        return {}
    return {s.step_id: {"region": s.region, "dependencies": s.dependencies,
                        "estimated_duration_seconds": s.estimated_duration_seconds, "monthly_cost": s.monthly_cost,
                        "changed_paths": s.changed_paths, "owner_stack": s.owner_stack} for s in plan.steps}


def _insert_steps(conn: psycopg.Connection, steps: list[StepRun], plan: Plan | None) -> None:
    if not steps:
        return
    planned = _planned(plan)
    rows = [{
        "step_id": s.step_id, "tenant_id": s.tenant_id, "wave": s.wave, "name": s.name, "action": s.action,
        "resource_identifier": s.resource_identifier, "provider": s.resource.get("provider", ""),
        "resource_type": s.resource.get("resource_type", ""), "status": s.status.value, "attempt": s.attempt,
        "idempotency_key": s.idempotency_key, "resource": s.resource, "before": s.before, "stack": s.stack,
        "batch": s.batch, "phase": s.phase, "phase_name": s.phase_name,
        "planned": planned.get(s.step_id),
    } for s in steps]
    conn.execute("""
        INSERT INTO deployment_steps (deployment_id, step_id, tenant_id, wave, name, action, resource_identifier,
                                      provider, resource_type, status, attempt, idempotency_key, resource, before,
                                      stack, batch, phase, phase_name, planned)
        SELECT %s, r.step_id, r.tenant_id, r.wave, r.name, r.action, r.resource_identifier, r.provider,
               r.resource_type, r.status, r.attempt, r.idempotency_key, r.resource, r.before, r.stack, r.batch,
               r.phase, r.phase_name, r.planned
        FROM jsonb_to_recordset(%s::jsonb) AS r(step_id text, tenant_id text, wave int, name text, action text,
             resource_identifier text, provider text, resource_type text, status text, attempt int,
             idempotency_key text, resource jsonb, before jsonb, stack text, batch int, phase int, phase_name text,
             planned jsonb)""",
                 (steps[0].deployment_id, Jsonb(rows)))


class PgStepRepository:
    def __init__(self, db: Database):
        self._db = db

    def get(self, deployment_id: str, step_id: str) -> StepRun | None:
        if not is_uuid(deployment_id):
            return None
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = %s AND step_id = %s",
                (deployment_id, step_id)).fetchone()
        return _step(row) if row else None

    def list(self, deployment_id: str) -> list[StepRun]:
        if not is_uuid(deployment_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = %s "
                "ORDER BY wave, length(step_id), step_id", (deployment_id,)).fetchall()
        return [_step(r) for r in rows]

    def in_batch(self, deployment_id: str, batch: int, *, undo: bool = False) -> list[StepRun]:
        column = "undo_batch" if undo else "batch"
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = %s AND {column} = %s "
                # The order they run in: phase by phase, wave by wave (an undo, newest first).
                + ("ORDER BY phase DESC, wave DESC" if undo else "ORDER BY phase, wave") + ", length(step_id), step_id",
                (deployment_id, batch)).fetchall()
        return [_step(r) for r in rows]

    def in_phase(self, deployment_id: str, phase_name: str) -> list[StepRun]:
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = %s AND phase_name = %s "
                "ORDER BY phase, wave, length(step_id), step_id", (deployment_id, phase_name)).fetchall()
        return [_step(r) for r in rows]

    def assign_undo_batches(self, deployment_id: str, undo_batch: dict[str, int]) -> None:
        with self._db.connection() as conn:
            conn.execute("""
                UPDATE deployment_steps s SET undo_batch = a.batch
                FROM unnest(%s::text[], %s::int[]) AS a(step_id, batch)
                WHERE s.deployment_id = %s AND s.step_id = a.step_id AND s.undo_batch IS DISTINCT FROM a.batch""",
                         (list(undo_batch), list(undo_batch.values()), deployment_id))

    def runs_after(self, deployment_id: str, *, after: str | None = None, limit: int = 500) -> list[StepRun]:
        if not is_uuid(deployment_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = %s AND step_id > %s "
                "ORDER BY step_id LIMIT %s", (deployment_id, after or "", limit)).fetchall()
        return [_step(r) for r in rows]

    def page(self, deployment_id: str, *, after: tuple[int, str] | None = None, status: str | None = None,
             wave: int | None = None, limit: int = 100) -> list[PlannedStep]:
        if not is_uuid(deployment_id):
            return []
        # Keyset on deployment_steps_order_idx: the same order as `list`, each page one index range.
        where, args = ["deployment_id = %s"], [deployment_id]
        if after is not None:
            where.append("(wave, length(step_id), step_id) > (%s, length(%s), %s)")
            args += [after[0], after[1], after[1]]
        if status is not None:
            where.append("status = %s")
            args.append(status)
        if wave is not None:
            where.append("wave = %s")
            args.append(wave)
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_LISTED_STEP_COLUMNS} FROM deployment_steps "
                f"WHERE {' AND '.join(where)} ORDER BY wave, length(step_id), step_id LIMIT %s",
                (*args, limit)).fetchall()
        return [PlannedStep(provider=r.pop("provider"), resource_type=r.pop("resource_type"),
                            planned=r.pop("planned") or {}, run=_step(r)) for r in rows]

    def counts(self, deployment_id: str) -> StepCounts:
        by_status: dict[str, int] = {}
        by_action: dict[str, int] = {}
        work: dict[str, int] = {}
        applied, rolled_back, wave_count, first_open = 0, 0, 0, None
        if is_uuid(deployment_id):
            with self._db.connection() as conn:
                rows = conn.execute("""
                    SELECT status, action, count(*)::int, count(undone_at)::int, max(wave) + 1,
                           min(wave) FILTER (WHERE status <> 'succeeded')
                    FROM deployment_steps WHERE deployment_id = %s GROUP BY status, action""",
                                    (deployment_id,)).fetchall()
            for status, action, n, undone, waves, open_wave in rows:
                by_status[status] = by_status.get(status, 0) + n
                by_action[action] = by_action.get(action, 0) + n
                rolled_back += undone
                wave_count = max(wave_count, waves)
                if action != "no-op":
                    work[status] = work.get(status, 0) + n
                    applied += n if status == "succeeded" else undone
                    if open_wave is not None:
                        first_open = open_wave if first_open is None else min(first_open, open_wave)
        return StepCounts(by_status=by_status, by_action=by_action, work_by_status=work, applied=applied,
                          rolled_back=rolled_back, wave_count=wave_count, first_open_wave=first_open)

    def save(self, step: StepRun, *, lease: Lease | None = None) -> None:
        params = {
            "deployment_id": step.deployment_id, "step_id": step.step_id, "status": step.status.value,
            "attempt": step.attempt, "result": Jsonb(step.result) if step.result is not None else None,
            "provider_resource_id": step.provider_resource_id, "error_message": step.error_message,
            "started_at": step.started_at, "finished_at": step.finished_at, "duration": step.duration_seconds,
            "undone_at": step.undone_at,
        }
        with self._db.transaction(pipeline=True) as conn:
            if lease is not None:
                check_lease(conn, lease)
            conn.execute("""
                UPDATE deployment_steps SET status = %(status)s, attempt = %(attempt)s, result = %(result)s,
                    provider_resource_id = %(provider_resource_id)s, error_message = %(error_message)s,
                    started_at = %(started_at)s, finished_at = %(finished_at)s, duration_seconds = %(duration)s,
                    undone_at = %(undone_at)s
                WHERE deployment_id = %(deployment_id)s AND step_id = %(step_id)s""", params)


class PgDriftRepository:
    def __init__(self, db: Database):
        self._db = db

    def add(self, report: DriftReport) -> DriftReport:
        items = [{
            "resource_identifier": i.resource_identifier, "severity": i.severity.value,
            "drift_type": i.drift_type.value, "property_path": i.property_path or "",
            "expected": i.expected_value, "actual": i.actual_value,
        } for i in report.items]
        with self._db.connection() as conn:
            conn.execute("""
                WITH report AS (
                    INSERT INTO drift_reports (id, tenant_id, deployment_id, status, scan_type, drift_count, summary,
                                               started_at, finished_at, created_at)
                    VALUES (%(id)s, %(tenant_id)s, %(deployment_id)s, 'completed', %(scan_type)s, %(count)s,
                            %(summary)s, %(at)s, %(at)s, %(at)s)
                    RETURNING id, tenant_id
                )
                INSERT INTO drift_items (report_id, tenant_id, resource_identifier, severity, drift_type,
                                         property_path, expected, actual)
                SELECT report.id, report.tenant_id, i.resource_identifier, i.severity, i.drift_type,
                       i.property_path, i.expected, i.actual
                FROM report, jsonb_to_recordset(%(items)s::jsonb) AS i(resource_identifier text, severity text,
                     drift_type text, property_path text, expected jsonb, actual jsonb)""", {
                "id": report.id, "tenant_id": report.tenant_id, "deployment_id": report.deployment_id,
                "scan_type": report.scan_type, "count": len(report.items), "at": report.created_at,
                "summary": Jsonb({"text": report.summary}), "items": Jsonb(items),
            })
        return report

    _SELECT = """
        SELECT r.id::text, r.tenant_id, r.deployment_id::text, r.scan_type, r.created_at,
               r.remediation_deployment_id::text,
               coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'drift_type', i.drift_type, 'resource_identifier', i.resource_identifier,
                   'property_path', nullif(i.property_path, ''), 'expected_value', i.expected,
                   'actual_value', i.actual, 'severity', i.severity) ORDER BY i.id)
                FROM drift_items i WHERE i.report_id = r.id), '[]'::jsonb) AS items
        FROM drift_reports r"""

    def get(self, report_id: str, *, tenant_id: str | None = None) -> DriftReport | None:
        if not is_uuid(report_id):
            return None
        sql, args = self._SELECT + " WHERE r.id = %s", [report_id]
        if tenant_id is not None:
            sql += " AND r.tenant_id = %s"
            args.append(tenant_id)
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(sql, args).fetchone()
        return _report(row) if row else None

    def list(self, tenant_id: str, *, deployment_id: str | None = None, limit: int = 50) -> list[DriftReport]:
        if deployment_id is not None and not is_uuid(deployment_id):
            return []
        sql, args = self._SELECT + " WHERE r.tenant_id = %s", [tenant_id]
        if deployment_id is not None:
            sql += " AND r.deployment_id = %s"
            args.append(deployment_id)
        sql += " ORDER BY r.created_at DESC LIMIT %s"
        args.append(limit)
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(sql, args).fetchall()
        return [_report(r) for r in rows]

    def set_remediation(self, report_id: str, deployment_id: str) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE drift_reports SET remediation_deployment_id = %s WHERE id = %s",
                         (deployment_id, report_id))


def _report(row: dict[str, Any]) -> DriftReport:
    return DriftReport(id=row["id"], tenant_id=row["tenant_id"], deployment_id=row["deployment_id"],
                       scan_type=row["scan_type"], created_at=row["created_at"],
                       remediation_deployment_id=row["remediation_deployment_id"],
                       items=[DriftItem.model_validate(i) for i in row["items"]])


class PgUserRepository:
    def __init__(self, db: Database):
        self._db = db

    _COLUMNS = "id::text, username, email, role, tenant_id, is_active, created_at"

    def add(self, user: User, password_hash: str) -> User:
        try:
            with self._db.connection() as conn:
                conn.execute("""
                    INSERT INTO users (id, tenant_id, username, email, password_hash, role, is_active, created_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                             (user.id, user.tenant_id, user.username, user.email, password_hash, user.role.value,
                              user.is_active, user.created_at))
        except psycopg.errors.UniqueViolation:
            raise ConcurrencyConflict(f"username '{user.username}' is taken") from None
        return user

    def _one(self, where: str, arg: str) -> tuple[User, str] | None:
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {self._COLUMNS}, password_hash FROM users WHERE {where}", (arg,)).fetchone()
        if row is None:
            return None
        password_hash = row.pop("password_hash")
        return User(**{**row, "role": Role(row["role"])}), password_hash

    def get(self, user_id: str) -> User | None:
        if not is_uuid(user_id):
            return None
        found = self._one("id = %s", user_id)
        return found[0] if found else None

    def get_with_password(self, username: str) -> tuple[User, str] | None:
        return self._one("lower(username) = lower(%s)", username)

    def count(self) -> int:
        with self._db.connection() as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]

