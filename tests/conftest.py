"""Shared fixtures.

Integration tests (`@pytest.mark.integration`) use real servers: an embedded PostgreSQL and Valkey started once
per session in a temporary directory, or the servers named by DATABASE_URL / REDIS_URL. Isolation per test:

- `database_url`: a fresh database cloned from a template migrated once per session (a ~10 ms file copy).
- `redis_key_prefix` / `lock_manager`: keys under a per-test prefix, deleted afterwards.

Fixtures: servers (session), template_database (session), database_url, empty_database_url, db, redis_client,
redis_key_prefix, lock_manager, server_control, app_env.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from localcloud.servers import Servers, running_servers


def _database_conninfo(url: str, name: str) -> str:
    """The same server and credentials, another database (kept in URL form when given a URL)."""
    if url.startswith(("postgresql://", "postgres://")):
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    return make_conninfo(url, dbname=name)


def _admin(servers: Servers) -> psycopg.Connection:
    # The application role has CREATEDB, which is all cloning and dropping test databases needs.
    return psycopg.connect(servers.database_url, autocommit=True, connect_timeout=10)


def _ensure_running(servers: Servers) -> None:
    """Restart whatever a test stopped, so later tests and teardowns find the servers up."""
    if servers.manages_postgres and not servers.postgres.running:
        servers.start_postgres()
    if servers.manages_redis and not servers.valkey.running:
        servers.start_redis()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    data_dir = tempfile.mkdtemp(prefix="orch-test-servers-")
    try:
        with running_servers(data_dir, durable=False) as started:
            yield started
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(servers: Servers) -> Iterator[str]:
    """Name of a database with every migration applied, used as the template of per-test databases."""
    from orchestrator.adapters.postgres.migrations import apply_migrations

    name = f"orch_template_{uuid.uuid4().hex[:8]}"  # unique: an external server may host several sessions
    with _admin(servers) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    apply_migrations(_database_conninfo(servers.database_url, name))
    with _admin(servers) as conn:
        # Cloning fails while anyone is connected to the template; make sure nobody can be.
        conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
    yield name
    _ensure_running(servers)
    with _admin(servers) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _temporary_database(servers: Servers, template: str) -> Iterator[str]:
    name = f"orch_test_{uuid.uuid4().hex[:12]}"
    with _admin(servers) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    yield _database_conninfo(servers.database_url, name)
    _ensure_running(servers)
    with _admin(servers) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_url(servers: Servers, template_database: str) -> Iterator[str]:
    """URL of a fresh, fully migrated database of this test's own."""
    yield from _temporary_database(servers, template_database)


@pytest.fixture
def empty_database_url(servers: Servers) -> Iterator[str]:
    """URL of a fresh database without any migration (for migration tests)."""
    yield from _temporary_database(servers, "template0")


@pytest.fixture
def db(database_url: str):
    """A Database (pool) on this test's database, with short timeouts so failures show quickly."""
    from orchestrator.adapters.postgres.pool import Database

    database = Database(
        database_url, min_size=1, max_size=4, connect_timeout_seconds=2, pool_timeout_seconds=2, name="test"
    )
    yield database
    database.close()


@pytest.fixture
def redis_key_prefix(servers: Servers) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    _ensure_running(servers)
    from orchestrator.adapters.redis.client import create_redis

    with create_redis(servers.redis_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
def redis_client(servers: Servers):
    from orchestrator.adapters.redis.client import create_redis

    client = create_redis(servers.redis_url, socket_timeout_seconds=1, connect_timeout_seconds=1)
    yield client
    client.close()


@pytest.fixture
def lock_manager(redis_client, redis_key_prefix: str):
    from orchestrator.adapters.redis.locks import RedisLockManager

    return RedisLockManager(redis_client, key_prefix=redis_key_prefix, default_ttl_seconds=5)


@pytest.fixture
def server_control(servers: Servers) -> Iterator[Servers]:
    """For tests that stop and restart the servers: skipped for external servers; restarts them afterwards."""
    if not (servers.manages_postgres and servers.manages_redis):
        pytest.skip("needs the embedded servers (DATABASE_URL / REDIS_URL point at external ones)")
    yield servers
    _ensure_running(servers)
    # The process-wide pools (the local cloud's handlers use them) still hold connections the outage broke: a
    # real Lambda would meet one failed request and recover; tests after this one should not.
    from orchestrator import wiring

    wiring.reset()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, database_url: str, servers: Servers, redis_key_prefix: str):
    """Point the process-wide settings, pool and Redis client (get_settings/get_database/get_redis) at this
    test's database and key prefix."""
    from orchestrator.adapters.postgres.pool import close_database
    from orchestrator.adapters.redis.client import close_redis
    from orchestrator.settings import get_settings

    def reset() -> None:
        close_database()
        close_redis()
        get_settings.cache_clear()

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("REDIS_KEY_PREFIX", redis_key_prefix)
    monkeypatch.delenv("DB_SECRET_ARN", raising=False)
    reset()
    yield get_settings()
    reset()


@pytest.fixture(scope="session")
def local_cloud(servers: Servers, template_database: str):
    """The local cloud (template.yaml deployed into the AWS emulator, handlers in-process) on a database of its
    own, started once per session exactly as the run command starts it. Tests isolate themselves by tenant."""
    from localcloud.cloud import LocalCloud

    databases = _temporary_database(servers, template_database)
    database_url = next(databases)
    cloud = LocalCloud(database_url=database_url, redis_url=servers.redis_url, aws_port=0, api_port=0,
                       extra_environment={"REDIS_KEY_PREFIX": f"cloud-{uuid.uuid4().hex[:8]}"})
    cloud.start()
    yield cloud
    cloud.stop()
    next(databases, None)


@pytest.fixture
def tenant() -> str:
    """A tenant of this test's own: tests on the shared local cloud isolate themselves by tenant."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(local_cloud):
    """The bootstrap admin, logged in through the local cloud's gateway."""
    from api_client import Api

    creds = local_cloud.admin_credentials()
    return Api(local_cloud).login(creds["username"], creds["password"])
