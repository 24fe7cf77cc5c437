"""Reject writes made under a lock that has since passed to a newer holder.

Call `check_fence` first inside the transaction that performs the guarded write:

    with db.transaction() as conn:
        check_lease(conn, lease)          # StaleFencingToken if a newer holder already wrote
        conn.execute("UPDATE cloud_resources SET ...")

The upsert on `lock_fences` records the newest token per lock and keeps that row locked until commit, so a
stale writer either sees the newer token and fails, or commits entirely before the newer holder's write. A
holder may write several times with its own token (`<=`); tokens are unique per lock name.
"""

from __future__ import annotations

import psycopg
from psycopg.pq import TransactionStatus

from orchestrator.domain.errors import StaleFencingToken
from orchestrator.ports.locks import Lease

_GUARD = """
INSERT INTO lock_fences AS current (lock_name, fence) VALUES (%s, %s)
ON CONFLICT (lock_name) DO UPDATE SET fence = EXCLUDED.fence, updated_at = now()
    WHERE current.fence <= EXCLUDED.fence
RETURNING fence
"""


def check_fence(conn: psycopg.Connection, lock_name: str, fence: int) -> None:
    """Record `fence` as the newest token for `lock_name`, or raise StaleFencingToken."""
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        # Outside a transaction the check would commit on its own and protect nothing that follows.
        raise RuntimeError("check_fence must run inside the transaction of the guarded write")
    if conn.execute(_GUARD, (lock_name, fence)).fetchone() is None:
        raise StaleFencingToken(f"fencing token {fence} for lock {lock_name!r} is stale: a newer holder has written")


def check_lease(conn: psycopg.Connection, lease: Lease) -> None:
    check_fence(conn, lease.name, lease.fence)
