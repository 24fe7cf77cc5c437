"""Waiting for a restarted server, shared by the outage tests."""

from __future__ import annotations

import time

from orchestrator.adapters.postgres.pool import Database
from orchestrator.domain.errors import DatabaseUnavailable


def wait_until_healthy(database: Database, timeout: float = 30.0) -> None:
    """Until `database` answers a ping again (its pool replaces the connections the outage broke)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            database.ping()
            return
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
