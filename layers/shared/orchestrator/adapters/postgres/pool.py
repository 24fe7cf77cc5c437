"""PostgreSQL connections: one small pool per process, created lazily and reused across Lambda invocations.

Connections are in autocommit mode, so a single statement is its own transaction (one round trip). For
"state change + audit row" prefer one statement with a data-modifying CTE on `connection()`:

    WITH changed AS (UPDATE deployments SET status = %s, version = version + 1
                     WHERE id = %s AND version = %s RETURNING id, tenant_id)
    INSERT INTO deployment_events (deployment_id, tenant_id, type, ...) SELECT id, tenant_id, ... FROM changed
    RETURNING deployment_id

and use `transaction(pipeline=True)` when several statements are needed: BEGIN, the statements and COMMIT
then travel together, and only a fetch (e.g. of a RETURNING row you must check) costs an extra round trip.

Failures to reach the server (connection errors, pool timeout, admin shutdown, statement timeout) surface as
`DatabaseUnavailable`; every other database error propagates unchanged for the repository to interpret.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from orchestrator.domain.errors import DatabaseUnavailable
from orchestrator.settings import Settings, get_settings

log = logging.getLogger(__name__)

# SQLSTATE classes meaning "the server cannot serve us right now": connection exception, insufficient
# resources, operator intervention (shutdown, statement timeout / cancel).
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57"})
_QUERY_CANCELED = "57014"  # statement_timeout: the server is slow, not gone


def is_unavailable(exc: BaseException) -> bool:
    """True when a psycopg error means the database cannot be reached or is not serving."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        # No SQLSTATE: a client-side failure (refused, reset, timed out, server closed the connection).
        return state is None or state[:2] in _UNAVAILABLE_CLASSES
    return False


def _reason(exc: BaseException) -> str:
    # Class and SQLSTATE only: server messages can quote hosts and data, and reach API clients in a 503.
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}" + (f" ({state})" if state else "")


def secret_params(settings: Settings) -> Callable[[], dict[str, Any]] | None:
    """Connection parameters from DB_SECRET_ARN, or None without one.

    DATABASE_URL decides where to connect and the secret who connects: the secret's username and password are
    always used, its host, port and dbname only where DATABASE_URL gives none. (An RDS-attached secret carries
    the cluster's host, which must not silently bypass the RDS Proxy named in DATABASE_URL.)
    """
    if not settings.db_secret_arn:
        return None
    from orchestrator.adapters.aws import secrets

    given = conninfo_to_dict(settings.database_url) if settings.database_url else {}

    def params() -> dict[str, Any]:
        found = secrets.database_params(
            settings.db_secret_arn,
            region=settings.aws_region,
            timeout_seconds=settings.aws_timeout_seconds,
            max_age_seconds=settings.db_secret_cache_seconds,
        )
        return {key: value for key, value in found.items() if key in ("user", "password") or key not in given}

    return params


def _with_fresh_params(params: Callable[[], dict[str, Any]]) -> type[psycopg.Connection]:
    """A Connection class that asks `params` for credentials at every connect, so a rotated secret is picked up
    by new connections. (psycopg_pool >= 3.3 also takes a callable `kwargs`; this works with 3.2 too.)"""

    class FreshParamsConnection(psycopg.Connection):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any):  # type: ignore[override]
            return super().connect(conninfo, **{**kwargs, **params()})

    return FreshParamsConnection


class Database:
    """A psycopg_pool.ConnectionPool with timeouts, autocommit connections and error mapping."""

    def __init__(
        self,
        conninfo: str = "",
        *,
        params: Callable[[], dict[str, Any]] | None = None,
        min_size: int = 1,
        max_size: int = 4,
        connect_timeout_seconds: float = 5.0,
        statement_timeout_ms: int = 10_000,
        idle_in_transaction_timeout_ms: int = 60_000,
        pool_timeout_seconds: float = 5.0,
        application_name: str = "orchestrator",
        name: str = "orchestrator",
    ):
        """conninfo: URL or key=value string. params: called for every new connection, its result overrides
        conninfo (used to supply a password from Secrets Manager that may have been rotated)."""
        url_options = conninfo_to_dict(conninfo).get("options", "") if conninfo else ""
        options = f"-c statement_timeout={int(statement_timeout_ms)}"
        options += f" -c idle_in_transaction_session_timeout={int(idle_in_transaction_timeout_ms)}"
        self._static: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout_seconds)),
            "options": f"{url_options} {options}".strip(),
            "application_name": application_name,
            # Detect a dead peer instead of waiting on a socket forever: keepalives for idle connections,
            # tcp_user_timeout for unacknowledged writes.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            "tcp_user_timeout": int(connect_timeout_seconds * 1000) + int(statement_timeout_ms),
        }
        self._pool_timeout = pool_timeout_seconds
        self._pool = ConnectionPool(
            conninfo,
            kwargs=self._static,
            connection_class=psycopg.Connection if params is None else _with_fresh_params(params),
            min_size=min_size,
            max_size=max_size,
            timeout=pool_timeout_seconds,
            name=name,
            num_workers=2,
            reconnect_timeout=60.0,
            open=True,  # connects in the background; a cold start never blocks or fails here
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        settings.require_database()
        return cls(
            settings.database_url or "",
            params=secret_params(settings),
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            idle_in_transaction_timeout_ms=settings.db_idle_in_transaction_timeout_ms,
            pool_timeout_seconds=settings.db_pool_timeout_seconds,
            application_name=settings.service_name,
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection: each statement commits on its own."""
        try:
            with self._pool.connection(timeout=self._pool_timeout) as conn:
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable("no connection available within the pool timeout") from exc
        except psycopg.Error as exc:
            if not is_unavailable(exc):
                raise
            if exc.sqlstate != _QUERY_CANCELED:
                # The server went away: other idle connections are probably dead too. Drop them now rather
                # than fail one request per stale connection.
                self._discard_broken()
            raise DatabaseUnavailable(_reason(exc)) from exc

    @contextmanager
    def transaction(self, *, pipeline: bool = False) -> Iterator[psycopg.Connection]:
        """BEGIN ... COMMIT on one connection; rolled back if the block raises.

        pipeline=True queues statements without waiting for each result: BEGIN, the statements and COMMIT cost
        one round trip plus one per fetch. Results (rowcount, fetch*) are only known once a fetch forces a
        sync, and a failing statement raises at that point: check guarded writes with RETURNING + fetchone().
        """
        with self.connection() as conn:
            if not pipeline:
                with conn.transaction():
                    yield conn
                return
            # BEGIN/COMMIT are queued by hand: psycopg's conn.transaction() syncs on entry and on exit inside a
            # pipeline, which would cost two extra round trips.
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    yield conn
                    conn.execute("COMMIT")
            except BaseException:
                if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless a round trip to the server succeeds."""
        with self.connection() as conn:
            conn.execute("SELECT 1")

    def _discard_broken(self) -> None:
        try:
            self._pool.check()
        except Exception:  # best effort; the pool also replaces broken connections when they are returned
            log.debug("pool check failed", exc_info=True)

    def stats(self) -> dict[str, int]:
        return self._pool.get_stats()

    def close(self, timeout: float = 5.0) -> None:
        self._pool.close(timeout=timeout)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_lock = threading.Lock()
_database: Database | None = None
_database_pid: int | None = None
# Pools inherited across fork() are kept referenced, never closed nor collected: closing (or collecting) a
# libpq connection sends Terminate on the socket the parent still uses.
_inherited: list[Database] = []


def get_database(settings: Settings | None = None) -> Database:
    """The process-wide Database, created on first use from `settings` (default: the environment)."""
    global _database, _database_pid
    with _lock:
        if _database is not None and _database_pid != os.getpid():
            _inherited.append(_database)
            _database = None
        if _database is None:
            _database = Database.from_settings(settings or get_settings())
            _database_pid = os.getpid()
        return _database


def close_database() -> None:
    """Close the process-wide pool (tests, shutdown); the next get_database() builds a new one."""
    global _database
    with _lock:
        database, _database = _database, None
    if database is not None and _database_pid == os.getpid():
        database.close()


atexit.register(close_database)
