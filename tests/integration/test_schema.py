"""The schema's own guarantees: append-only audit, uniqueness, triggers, and the one-statement audit pattern."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

pytestmark = pytest.mark.integration


def _insert_deployment(conn: psycopg.Connection, tenant: str = "t1", idempotency_key: str | None = None) -> uuid.UUID:
    deployment_id = uuid.uuid4()
    conn.execute(
        """
        INSERT INTO deployments (id, tenant_id, name, environment, strategy, status, intent, initiated_by,
                                 idempotency_key)
        VALUES (%s, %s, 'web', 'dev', 'rolling', 'pending', %s, 'alice', %s)
        """,
        (deployment_id, tenant, Jsonb({"resources": []}), idempotency_key),
    )
    return deployment_id


def _insert_event(conn: psycopg.Connection, deployment_id: uuid.UUID) -> int:
    return conn.execute(
        """
        INSERT INTO deployment_events (deployment_id, tenant_id, type, actor, to_status, detail)
        VALUES (%s, 't1', 'created', 'alice', 'pending', %s) RETURNING id
        """,
        (deployment_id, Jsonb({"source": "test"})),
    ).fetchone()[0]


def test_audit_events_cannot_be_changed_or_removed(db):
    with db.connection() as conn:
        deployment_id = _insert_deployment(conn)
        event_id = _insert_event(conn, deployment_id)

        for statement in (
            "UPDATE deployment_events SET actor = 'mallory' WHERE id = %s",
            "DELETE FROM deployment_events WHERE id = %s",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement, (event_id,))
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE deployment_events")
        # Nor by removing the deployment it belongs to.
        with pytest.raises(errors.ForeignKeyViolation):
            conn.execute("DELETE FROM deployments WHERE id = %s", (deployment_id,))

        assert conn.execute("SELECT actor FROM deployment_events WHERE id = %s", (event_id,)).fetchone() == ("alice",)


def test_creation_idempotency_key_is_unique_per_tenant(db):
    with db.connection() as conn:
        _insert_deployment(conn, "t1", "key-1")
        _insert_deployment(conn, "t2", "key-1")
        _insert_deployment(conn, "t1", None)
        _insert_deployment(conn, "t1", None)
        with pytest.raises(errors.UniqueViolation):
            _insert_deployment(conn, "t1", "key-1")


def test_usernames_are_unique_regardless_of_case(db):
    insert = (
        "INSERT INTO users (tenant_id, username, email, password_hash, role) "
        "VALUES (%s, %s, 'a@example.com', 'hash', 'viewer')"
    )
    with db.connection() as conn:
        conn.execute(insert, ("t1", "Alice"))
        with pytest.raises(errors.UniqueViolation):
            conn.execute(insert, ("t2", "alice"))


def test_step_idempotency_key_is_unique(db):
    insert = """
        INSERT INTO deployment_steps (deployment_id, step_id, tenant_id, wave, name, action, resource_identifier,
                                      provider, resource_type, resource, status, idempotency_key)
        VALUES (%s, %s, 't1', 0, 'create bucket', 'create', 'aws:s3:logs', 'aws', 's3_bucket', '{}', 'pending', %s)
    """
    with db.connection() as conn:
        deployment_id = _insert_deployment(conn)
        conn.execute(insert, (deployment_id, "s1", "dep-s1-create"))
        with pytest.raises(errors.UniqueViolation):
            conn.execute(insert, (deployment_id, "s2", "dep-s1-create"))


def test_cloud_resource_identifier_is_unique_per_tenant_and_updated_at_moves(db):
    insert = """
        INSERT INTO cloud_resources (tenant_id, provider, region, resource_type, name, resource_identifier,
                                     provider_resource_id)
        VALUES (%s, 'aws', 'eu-west-1', 's3_bucket', 'logs', 'aws:s3:logs', %s) RETURNING id, updated_at
    """
    with db.connection() as conn:
        resource_id, created = conn.execute(insert, ("t1", "bkt-1")).fetchone()
        conn.execute(insert, ("t2", "bkt-2"))
        with pytest.raises(errors.UniqueViolation):
            conn.execute(insert, ("t1", "bkt-3"))
        (updated,) = conn.execute(
            'UPDATE cloud_resources SET tags = \'{"team": "a"}\' WHERE id = %s RETURNING updated_at',
            (resource_id,),
        ).fetchone()
        assert updated > created


# State change and its audit row in one statement: atomic, one round trip, and nothing is audited when the
# optimistic version check fails.
_TRANSITION = """
WITH changed AS (
    UPDATE deployments SET status = %(to)s, version = version + 1
    WHERE id = %(id)s AND version = %(version)s AND status = %(from)s
    RETURNING id, tenant_id, version
)
INSERT INTO deployment_events (deployment_id, tenant_id, type, actor, from_status, to_status, correlation_id)
SELECT id, tenant_id, 'status_changed', %(actor)s, %(from)s, %(to)s, %(correlation)s FROM changed
RETURNING (SELECT version FROM changed)
"""


def test_transition_and_audit_in_one_statement(db):
    with db.connection() as conn:
        deployment_id = _insert_deployment(conn)
        params = {"id": deployment_id, "from": "pending", "to": "planned", "actor": "alice", "correlation": "c-1"}

        assert conn.execute(_TRANSITION, {**params, "version": 1}).fetchone() == (2,)
        # A writer still holding version 1 loses: no update, no audit row.
        assert conn.execute(_TRANSITION, {**params, "version": 1}).fetchone() is None

        events = conn.execute(
            "SELECT from_status, to_status FROM deployment_events WHERE deployment_id = %s ORDER BY id",
            (deployment_id,),
        ).fetchall()
    assert events == [("pending", "planned")]


def test_speculative_plan_audit_records_are_appended_and_never_changed(db):
    from datetime import UTC, datetime

    from orchestrator.adapters.postgres.audit import PgPlanAuditLog
    from orchestrator.ports.audit import PlanAuditEntry

    entry_id = str(uuid.uuid4())
    PgPlanAuditLog(db).record(PlanAuditEntry(
        id=entry_id, tenant_id="t1", at=datetime(2026, 12, 1, tzinfo=UTC), actor_id="u1", actor="alice",
        stack="web", environment="staging", plan_id="p1", by_action={"create": 2, "no-op": 1}, has_changes=True,
        blocked=False, estimated_monthly_cost=12.34, risk="low", correlation_id="c1"))
    with db.connection() as conn:
        row = conn.execute("SELECT actor, stack, by_action, estimated_monthly_cost::float, correlation_id "
                           "FROM plan_audit WHERE id = %s", (entry_id,)).fetchone()
        assert row == ("alice", "web", {"create": 2, "no-op": 1}, 12.34, "c1")
        for statement in ("UPDATE plan_audit SET actor = 'mallory' WHERE id = %s",
                          "DELETE FROM plan_audit WHERE id = %s"):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement, (entry_id,))
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE plan_audit")
