"""Count client-server round trips, as bench/db.py and the repository tests do to hold the adapters to their budget.

libpq's protocol trace logs every message with its direction: F (frontend: this process) or B (backend: the
server). A round trip is a run of messages sent followed by the server's answer: an F line followed by a B line.
Counting the protocol itself, rather than calls to `execute`, also shows the round trips psycopg adds on its own
(a pipeline sync, a statement prepared on its fifth use).

    with count_round_trips(db) as trips:
        repository.get(deployment_id)
    assert trips.count <= 1

Dev-only: libpq tracing works on Linux only and costs a file write per message.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from .pool import Database

# A message line: [timestamp TAB] direction TAB length TAB type. Query texts and parameters may span further lines.
_MESSAGE = re.compile(r"^(?:[^\t]*\t)?([FB])\t\d+\t")


def round_trips_in_trace(text: str) -> int:
    """Client-to-server turns in a libpq trace: each run of F messages followed by a B message."""
    directions = [m.group(1) for m in map(_MESSAGE.match, text.splitlines()) if m]
    return sum(1 for before, after in zip(directions, directions[1:], strict=False) if (before, after) == ("F", "B"))


@contextmanager
def traced(conn: psycopg.Connection, record: Callable[[int], None]) -> Iterator[psycopg.Connection]:
    """Trace `conn` during the block, then pass its round-trip count to `record` (also when the block raises)."""
    fd, name = tempfile.mkstemp(prefix="libpq-trace-")
    try:
        conn.pgconn.trace(fd)
        try:
            yield conn
        finally:
            conn.pgconn.untrace()  # flushes libpq's buffered stream
            record(round_trips_in_trace(Path(name).read_text(errors="replace")))
    finally:
        os.close(fd)
        os.unlink(name)


@dataclass
class RoundTrips:
    """Round trips per connection checkout, in order; `count` is their sum."""

    checkouts: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.checkouts)


@contextmanager
def count_round_trips(db: Database) -> Iterator[RoundTrips]:
    """Trace every connection `db` hands out (through `connection()` or `transaction()`) during the block.

    Everything using `db` meanwhile is counted, whatever thread it runs in: count single-threaded code.
    """
    trips = RoundTrips()
    original, shadowed = db.connection, vars(db).get("connection")

    @contextmanager
    def traced_connection() -> Iterator[psycopg.Connection]:
        with original() as conn, traced(conn, trips.checkouts.append):
            yield conn

    db.connection = traced_connection  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        if shadowed is None:
            del db.connection  # back to the class's method
        else:
            db.connection = shadowed  # an enclosing count_round_trips
