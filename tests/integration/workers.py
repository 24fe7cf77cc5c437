"""Functions run in spawned processes by the integration tests (module-level so they can be pickled)."""

from __future__ import annotations

import time


def migrate(database_url: str, start_at: float) -> list[str]:
    from orchestrator.adapters.postgres.migrations import apply_migrations

    time.sleep(max(0.0, start_at - time.time()))  # line the processes up so they really race
    return apply_migrations(database_url)


def increment_under_lock(
    database_url: str, redis_url: str, key_prefix: str, lock_name: str, iterations: int
) -> list[tuple[float, float, int]]:
    """Read-modify-write a counter row without any database locking, relying on the Redis lock alone.

    Returns (entered, left, fence) per critical section, with wall-clock times comparable across processes.
    """
    import psycopg

    from orchestrator.adapters.redis.client import create_redis
    from orchestrator.adapters.redis.locks import RedisLockManager

    sections = []
    with create_redis(redis_url) as client, psycopg.connect(database_url, autocommit=True) as conn:
        locks = RedisLockManager(client, key_prefix=key_prefix, default_ttl_seconds=10)
        for _ in range(iterations):
            with locks.hold(lock_name, wait_seconds=30) as lease:
                entered = time.time()
                (value,) = conn.execute("SELECT n FROM counter").fetchone()
                time.sleep(0.002)  # widen the window a broken lock would let another writer into
                conn.execute("UPDATE counter SET n = %s", (value + 1,))
                sections.append((entered, time.time(), lease.fence))
    return sections
