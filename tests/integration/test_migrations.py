from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import workers

from orchestrator.adapters.postgres.migrations import (
    ADVISORY_LOCK_KEY,
    MigrationError,
    apply_migrations,
    default_migrations_dir,
    discover_migrations,
)

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "users",
    "deployments",
    "deployment_steps",
    "deployment_events",
    "drift_reports",
    "drift_items",
    "cloud_resources",
    "cloud_standby",
    "lock_fences",
    "schema_migrations",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {name for (name,) in rows}


def _ledger(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [version for (version,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), directory)
    return directory


def test_repository_migrations_are_found_and_ordered():
    migrations = discover_migrations()
    assert migrations, "infra/db/migrations is empty"
    assert migrations[0].version == "0001"
    assert [int(m.version) for m in migrations] == sorted(int(m.version) for m in migrations)


def test_env_var_overrides_directory(monkeypatch: pytest.MonkeyPatch, migrations_copy: Path):
    monkeypatch.setenv("ORCH_MIGRATIONS_DIR", str(migrations_copy))
    assert default_migrations_dir() == migrations_copy


def test_applying_twice_is_a_no_op(empty_database_url: str):
    every_version = [m.version for m in discover_migrations()]

    assert apply_migrations(empty_database_url) == every_version
    assert apply_migrations(empty_database_url) == []
    assert EXPECTED_TABLES <= _tables(empty_database_url)
    assert _ledger(empty_database_url) == every_version


def test_concurrent_threads_apply_once(empty_database_url: str):
    start = threading.Barrier(4)

    def run() -> list[str]:
        start.wait(timeout=10)
        return apply_migrations(empty_database_url)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(run) for _ in range(4)]]

    every_version = [m.version for m in discover_migrations()]
    assert sorted(results, key=len, reverse=True) == [every_version, [], [], []]
    assert _ledger(empty_database_url) == every_version


def test_concurrent_processes_apply_once(empty_database_url: str):
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5  # after the interpreters have started and imported psycopg
    with context.Pool(processes=3) as pool:
        results = pool.starmap_async(workers.migrate, [(empty_database_url, start_at)] * 3).get(timeout=60)

    every_version = [m.version for m in discover_migrations()]
    assert sorted(results, key=len, reverse=True) == [every_version, [], []]
    assert _ledger(empty_database_url) == every_version


def test_new_migration_is_applied_after_existing_ones(empty_database_url: str, migrations_copy: Path):
    apply_migrations(empty_database_url, directory=migrations_copy)
    (migrations_copy / "9001_add_note.sql").write_text("ALTER TABLE deployments ADD COLUMN note text;\n")

    assert apply_migrations(empty_database_url, directory=migrations_copy) == ["9001"]
    assert _ledger(empty_database_url)[-1] == "9001"


def test_failed_migration_leaves_nothing_behind(empty_database_url: str, migrations_copy: Path):
    apply_migrations(empty_database_url, directory=migrations_copy)
    broken = migrations_copy / "9001_broken.sql"
    broken.write_text("CREATE TABLE half_done (id int);\nSELECT no_such_column FROM users;\n")

    with pytest.raises(MigrationError, match="9001_broken.sql"):
        apply_migrations(empty_database_url, directory=migrations_copy)
    assert "half_done" not in _tables(empty_database_url)
    assert "9001" not in _ledger(empty_database_url)

    broken.write_text("CREATE TABLE half_done (id int);\n")
    assert apply_migrations(empty_database_url, directory=migrations_copy) == ["9001"]


def test_edited_migration_is_refused(empty_database_url: str, migrations_copy: Path):
    apply_migrations(empty_database_url, directory=migrations_copy)
    first = sorted(migrations_copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        apply_migrations(empty_database_url, directory=migrations_copy)


def test_no_transaction_migration(empty_database_url: str, migrations_copy: Path):
    (migrations_copy / "9001_concurrent_index.sql").write_text(
        "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
    )
    assert "9001" in apply_migrations(empty_database_url, directory=migrations_copy)


def test_badly_named_file_is_refused(migrations_copy: Path):
    (migrations_copy / "2_Oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_lowercase_name.sql"):
        discover_migrations(migrations_copy)


def test_waiting_for_the_migration_lock_is_bounded(empty_database_url: str):
    with psycopg.connect(empty_database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        started = time.monotonic()
        with pytest.raises(MigrationError, match="migration lock"):
            apply_migrations(empty_database_url, lock_timeout_seconds=0.3)
        assert time.monotonic() - started < 5


def test_step_pages_migration_copies_what_the_plan_says_of_each_existing_step(empty_database_url: str,
                                                                              migrations_copy: Path):
    from psycopg.types.json import Jsonb

    from orchestrator.domain.intent import validate_intent
    from orchestrator.planning import build_plan

    step_pages = migrations_copy / "0008_step_pages.sql"
    text = step_pages.read_text()
    step_pages.unlink()
    apply_migrations(empty_database_url, directory=migrations_copy)
    intent = validate_intent({"name": "old", "description": "before 0008", "target_providers": ["aws"],
                              "environment": "staging", "resources": [
        {"resource_type": "network", "provider": "aws", "region": "eu-west-1", "name": "net"},
        {"resource_type": "queue", "provider": "aws", "region": "eu-west-1", "name": "jobs",
         "dependencies": ["aws/eu-west-1/network/net"]}]})
    deployment_id = "00000000-0000-4000-8000-000000000001"
    plan = build_plan(intent, deployment_id=deployment_id)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO deployments (id, tenant_id, name, environment, strategy, status, intent, plan,
                                                 initiated_by)
                        VALUES (%s, 't1', 'old', 'staging', 'rolling', 'planned', %s, %s, 'ann')""",
                     (deployment_id, Jsonb(intent.model_dump(mode="json")), Jsonb(plan.model_dump(mode="json"))))
        for step in plan.steps:
            conn.execute("""INSERT INTO deployment_steps (deployment_id, step_id, tenant_id, wave, name, action,
                                resource_identifier, provider, resource_type, status, idempotency_key, resource)
                            VALUES (%s, %s, 't1', %s, %s, %s, %s, 'aws', %s, 'pending', %s, '{}')""",
                         (deployment_id, step.step_id, step.wave, step.name, step.action.value,
                          step.resource_identifier, step.resource_type, step.idempotency_key))
    step_pages.write_text(text)
    assert apply_migrations(empty_database_url, directory=migrations_copy) == ["0008"]
    with psycopg.connect(empty_database_url) as conn:
        planned = dict(conn.execute("SELECT step_id, planned FROM deployment_steps").fetchall())
        indexes = {name for (name,) in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'deployment_steps'").fetchall()}
    assert planned == {s.step_id: {"region": "eu-west-1", "dependencies": s.dependencies,
                                   "estimated_duration_seconds": s.estimated_duration_seconds,
                                   "monthly_cost": s.monthly_cost, "changed_paths": [], "owner_stack": None}
                       for s in plan.steps}
    assert planned["s2"]["dependencies"] == ["s1"]
    assert "deployment_steps_order_idx" in indexes and "deployment_steps_wave_idx" not in indexes
