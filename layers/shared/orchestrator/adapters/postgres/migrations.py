"""Apply the ordered SQL migrations (`NNNN_name.sql`) that a database has not seen yet.

Each migration runs in its own transaction together with its row in `schema_migrations`, so it is applied
entirely or not at all. The whole run holds a session-level advisory lock, so concurrent cold starts queue up
and the later ones find nothing to do. A migration edited after it was applied is refused (checksum mismatch).

A file whose first line is `-- migrate: no-transaction` runs outside a transaction (e.g. CREATE INDEX
CONCURRENTLY); keep such files to one statement so a failure leaves nothing half done.

The directory is, in order: the argument, $ORCH_MIGRATIONS_DIR, `orchestrator/db_migrations` inside the package
(where a Lambda layer build copies infra/db/migrations), then `infra/db/migrations` in the repository.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from orchestrator.adapters.postgres.pool import secret_params
from orchestrator.settings import Settings, get_settings

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(?P<version>\d{4,})_(?P<name>[a-z0-9_]+)\.sql$")
_NO_TRANSACTION = "-- migrate: no-transaction"
# Arbitrary but fixed: the same key in every process that migrates this database ("orchmigr" in ASCII).
ADVISORY_LOCK_KEY = 0x6F7263686D696772

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    path: Path
    checksum: str
    sql: str = field(repr=False)

    @property
    def transactional(self) -> bool:
        return not self.sql.lstrip().startswith(_NO_TRANSACTION)


def default_migrations_dir() -> Path:
    configured = os.environ.get("ORCH_MIGRATIONS_DIR")
    if configured:
        return Path(configured)
    package_dir = Path(__file__).resolve().parents[2]  # .../orchestrator
    candidates = [package_dir / "db_migrations", package_dir.parents[2] / "infra" / "db" / "migrations"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MigrationError(
        "no migrations directory found; set ORCH_MIGRATIONS_DIR (looked in "
        + ", ".join(str(candidate) for candidate in candidates)
        + ")"
    )


def discover_migrations(directory: Path | str | None = None) -> list[Migration]:
    root = Path(directory) if directory is not None else default_migrations_dir()
    if not root.is_dir():
        raise MigrationError(f"migrations directory {root} does not exist")
    migrations: list[Migration] = []
    for path in sorted(root.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lowercase_name.sql")
        content = path.read_bytes()
        checksum = hashlib.sha256(content).hexdigest()
        migrations.append(Migration(match["version"], match["name"], path, checksum, content.decode("utf-8")))
    versions = [migration.version for migration in migrations]
    duplicates = sorted({version for version in versions if versions.count(version) > 1})
    if duplicates:
        raise MigrationError(f"several migrations share a version: {', '.join(duplicates)}")
    return sorted(migrations, key=lambda migration: int(migration.version))


def apply_migrations(
    conninfo: str = "",
    *,
    directory: Path | str | None = None,
    lock_timeout_seconds: float = 60.0,
    statement_timeout_seconds: float = 300.0,
    connect_timeout_seconds: float = 10.0,
    **connect_params: Any,
) -> list[str]:
    """Apply pending migrations; returns the versions applied (empty when up to date).

    Uses its own connection (not the pool) because the advisory lock is held by the session and migrations may
    need longer statements than the application's statement_timeout. lock_timeout bounds both the wait for
    another migrator and each DDL statement's wait for table locks, so a migration never stalls live traffic
    indefinitely behind a long transaction.
    """
    migrations = discover_migrations(directory)
    options = (
        f"-c lock_timeout={int(lock_timeout_seconds * 1000)}"
        f" -c statement_timeout={int(statement_timeout_seconds * 1000)}"
    )
    with psycopg.connect(
        conninfo,
        autocommit=True,
        connect_timeout=max(1, round(connect_timeout_seconds)),
        options=options,
        application_name="orchestrator-migrations",
        **connect_params,
    ) as conn:
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        except pg_errors.LockNotAvailable as exc:
            raise MigrationError(f"another process held the migration lock for over {lock_timeout_seconds}s") from exc
        try:
            return _apply_locked(conn, migrations)
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _apply_locked(conn: psycopg.Connection, migrations: list[Migration]) -> list[str]:
    conn.execute(_CREATE_LEDGER)
    applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    for migration in migrations:
        recorded = applied.get(migration.version)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(f"{migration.path.name} changed after it was applied; add a new migration instead")
    known = {migration.version for migration in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        # Normal while an older release still runs against a database a newer one migrated.
        log.warning("database has migrations this code does not know: %s", ", ".join(unknown))

    done: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        record = (
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
        try:
            if migration.transactional:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(*record)
            else:
                conn.execute(migration.sql)
                conn.execute(*record)
        except psycopg.Error as exc:
            raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
        log.info("applied migration %s", migration.path.name)
        done.append(migration.version)
    return done


def migrate(settings: Settings | None = None, *, directory: Path | str | None = None) -> list[str]:
    """apply_migrations() for the database configured by settings (DATABASE_URL and/or DB_SECRET_ARN)."""
    settings = settings or get_settings()
    settings.require_database()
    params = secret_params(settings)
    return apply_migrations(
        settings.database_url or "",
        directory=directory or settings.migrations_dir,
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        **(params() if params is not None else {}),
    )
