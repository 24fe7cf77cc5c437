from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from waits import wait_until_healthy

from orchestrator.adapters.postgres.fencing import check_fence
from orchestrator.adapters.postgres.pool import Database, get_database
from orchestrator.adapters.postgres.roundtrips import traced
from orchestrator.domain.errors import DatabaseUnavailable, StaleFencingToken
from orchestrator.settings import Settings

pytestmark = pytest.mark.integration


@contextmanager
def blackhole() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: only timeouts can end a call to it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_statements_commit_on_their_own_and_transactions_roll_back(db):
    with db.connection() as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")

    with pytest.raises(RuntimeError, match="boom"):
        with db.transaction() as conn:
            conn.execute("INSERT INTO notes VALUES ('rolled back')")
            raise RuntimeError("boom")
    with pytest.raises(errors.UniqueViolation):
        with db.transaction(pipeline=True) as conn:
            conn.execute("ALTER TABLE notes ADD PRIMARY KEY (body)")
            conn.execute("INSERT INTO notes VALUES ('also rolled back')")
            conn.execute("INSERT INTO notes VALUES ('kept')")

    with db.connection() as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]
        assert conn.info.transaction_status.name == "IDLE"


def test_database_errors_other_than_availability_propagate(db):
    with pytest.raises(errors.UndefinedTable):
        with db.connection() as conn:
            conn.execute("SELECT * FROM no_such_table")


def test_statement_timeout_is_applied(database_url: str):
    with Database(database_url, statement_timeout_ms=100, pool_timeout_seconds=2) as database:
        with database.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("100ms",)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as caught:
            with database.connection() as conn:
                conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2
        assert isinstance(caught.value.__cause__, errors.QueryCanceled)
        database.ping()  # the connection survived the cancelled statement


def test_unreachable_server_is_unavailable_within_the_pool_timeout():
    with blackhole() as port:
        database = Database(
            f"postgresql://nobody:secret@127.0.0.1:{port}/nothing", connect_timeout_seconds=1, pool_timeout_seconds=1
        )
        try:
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable) as caught:
                database.ping()
            assert time.monotonic() - started < 3
            assert "secret" not in str(caught.value)
        finally:
            database.close(timeout=1)


def test_stopped_postgres_is_unavailable_then_recovers(server_control, database_url: str):
    with Database(database_url, min_size=2, max_size=2, connect_timeout_seconds=2, pool_timeout_seconds=1) as database:
        database.ping()
        server_control.stop_postgres()

        for _ in range(3):  # stale pooled connections first, then the pool's own timeout
            with pytest.raises(DatabaseUnavailable):
                database.ping()

        server_control.start_postgres()
        wait_until_healthy(database)
        with database.connection() as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1


def test_fenced_transition_with_audit_costs_three_round_trips(db, tmp_path: Path):
    with db.connection() as conn:
        deployment_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO deployments (id, tenant_id, name, environment, strategy, status, intent, initiated_by) "
            "VALUES (%s, 't1', 'web', 'dev', 'rolling', 'pending', '{}', 'alice')",
            (deployment_id,),
        )

    trips: list[int] = []
    with db.transaction(pipeline=True) as conn, traced(conn, trips.append):
        check_fence(conn, f"deployment:{deployment_id}", 42)
        (version,) = conn.execute(
            "UPDATE deployments SET status = 'planned', version = version + 1 "
            "WHERE id = %s AND version = 1 RETURNING version",
            (deployment_id,),
        ).fetchone()
        conn.execute(
            "INSERT INTO deployment_events (deployment_id, tenant_id, type, actor, from_status, to_status) "
            "VALUES (%s, 't1', 'status_changed', 'alice', 'pending', 'planned')",
            (deployment_id,),
        )

    assert version == 2
    assert trips[0] <= 3
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM deployment_events").fetchone() == (1,)


def test_check_fence_refuses_to_run_outside_a_transaction(db):
    with db.connection() as conn, pytest.raises(RuntimeError, match="inside the transaction"):
        check_fence(conn, "deployment:x", 1)


def test_stale_fence_rolls_back_the_whole_transaction(db):
    with db.connection() as conn:
        conn.execute("CREATE TABLE state (value text)")
        conn.execute("INSERT INTO state VALUES ('initial')")
    with db.transaction() as conn:
        check_fence(conn, "resource:t1:a", 10)
        conn.execute("UPDATE state SET value = 'by holder 10'")

    for pipeline in (False, True):
        with pytest.raises(StaleFencingToken):
            with db.transaction(pipeline=pipeline) as conn:
                conn.execute("UPDATE state SET value = 'by holder 9'")
                check_fence(conn, "resource:t1:a", 9)

    with db.connection() as conn:
        assert conn.execute("SELECT value FROM state").fetchone() == ("by holder 10",)


def test_older_writer_waiting_on_a_newer_one_is_rejected_when_it_commits(db):
    """Both write at the same time: the older token waits on the fence row, then sees the newer token."""
    newer_checked = threading.Event()
    outcome: list[BaseException | None] = []

    def older_writer() -> None:
        newer_checked.wait(timeout=10)
        try:
            with db.transaction() as conn:
                check_fence(conn, "resource:t1:b", 1)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            outcome.append(exc)

    thread = threading.Thread(target=older_writer)
    thread.start()
    with db.transaction() as conn:
        check_fence(conn, "resource:t1:b", 2)
        newer_checked.set()
        time.sleep(0.3)  # the older writer is now blocked on the lock_fences row
    thread.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleFencingToken)


def test_process_wide_database_follows_settings(app_env: Settings):
    database = get_database()
    assert get_database() is database
    database.ping()


@pytest.fixture
def secretsmanager(local_cloud, monkeypatch: pytest.MonkeyPatch):
    """Secrets Manager of the local cloud's AWS emulator (moto's state is per process: an in-process `mock_aws`
    would wipe the local cloud's own secrets when it ends)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.emulator.endpoint_url)
    return local_cloud.emulator.client("secretsmanager")


def test_credentials_from_secrets_manager(database_url: str, secretsmanager):
    """DB_SECRET_ARN: an RDS-format secret supplies the credentials. DATABASE_URL, when set, decides where to
    connect even if the secret names another host, as an RDS-attached secret does."""
    from orchestrator.adapters.aws import secrets
    from orchestrator.adapters.postgres.migrations import migrate

    parts = conninfo_to_dict(database_url)
    secrets.invalidate()
    client = secretsmanager

    def secret(**location) -> str:
        credentials = {"username": parts["user"], "password": parts["password"], "engine": "postgres"}
        return client.create_secret(
            Name=f"db-{uuid.uuid4().hex[:8]}", SecretString=json.dumps({**credentials, **location})
        )["ARN"]

    full = secret(host=parts["host"], port=int(parts["port"]), dbname=parts["dbname"])
    elsewhere = secret(host="cluster.invalid", port=1, dbname="wrong")
    url_without_credentials = f"postgresql://{parts['host']}:{parts['port']}/{parts['dbname']}"

    for settings in (
        Settings(db_secret_arn=full, aws_region="us-east-1", db_pool_timeout_seconds=3),
        Settings(
            database_url=url_without_credentials,
            db_secret_arn=elsewhere,
            aws_region="us-east-1",
            db_pool_timeout_seconds=3,
        ),
    ):
        with Database.from_settings(settings) as database:
            with database.connection() as conn:
                assert conn.execute("SELECT current_database()").fetchone() == (parts["dbname"],)
        assert migrate(settings) == []  # already migrated: connected to the right database

    missing = Settings(db_secret_arn=full + "-missing", aws_region="us-east-1", db_pool_timeout_seconds=1)
    with Database.from_settings(missing) as database, pytest.raises(DatabaseUnavailable):
        database.ping()
    secrets.invalidate()


def test_rotated_password_is_used_by_new_connections(servers, database_url: str, secretsmanager):
    if servers.admin_database_url is None:
        pytest.skip("needs the embedded server's superuser to create a throwaway role")
    from psycopg import sql

    from orchestrator.adapters.aws import secrets

    role = f"rotating_{uuid.uuid4().hex[:8]}"
    parts = conninfo_to_dict(database_url)
    with psycopg.connect(servers.admin_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'first'").format(sql.Identifier(role)))
    secrets.invalidate()
    client = secretsmanager
    try:
        arn = client.create_secret(Name=role, SecretString=json.dumps({"username": role, "password": "first"}))[
            "ARN"
        ]
        settings = Settings(
            database_url=f"postgresql://{parts['host']}:{parts['port']}/{parts['dbname']}",
            db_secret_arn=arn,
            aws_region="us-east-1",
            db_secret_cache_seconds=0,  # re-read at every new connection
            db_pool_timeout_seconds=3,
        )
        with Database.from_settings(settings) as database:
            database.ping()
            with psycopg.connect(servers.admin_database_url, autocommit=True) as admin:
                admin.execute(sql.SQL("ALTER ROLE {} PASSWORD 'second'").format(sql.Identifier(role)))
            client.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": role, "password": "second"}))
            # Holding max_size connections at once forces some opened after the rotation; they can only
            # have logged in with the new password.
            with ExitStack() as held:
                connections = [held.enter_context(database.connection()) for _ in range(settings.db_pool_max_size)]
                assert "second" in {conn.info.password for conn in connections}
                assert all(conn.execute("SELECT 1").fetchone() == (1,) for conn in connections)
    finally:
        secrets.invalidate()
        with psycopg.connect(servers.admin_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
