"""localcloud.servers: environment URLs, restarts on the same port, and no server outliving its parent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from localcloud.servers import ServerError, redact_url, start_servers

pytestmark = pytest.mark.integration

_CHILD = """
import json, sys, time
from localcloud.servers import start_servers
servers = start_servers(sys.argv[1], durable=False, use_environment=False)
print(json.dumps([servers.postgres._process.pid, servers.valkey._process.pid]), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; it only waits for a reaper


def test_redact_url_hides_the_password():
    assert redact_url("postgresql://app:s3cr%40t@127.0.0.1:5432/db") == "postgresql://app:***@127.0.0.1:5432/db"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_environment_urls_are_used_as_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db.internal:5432/app")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    with start_servers(tmp_path) as servers:
        assert servers.database_url == "postgresql://app:pw@db.internal:5432/app"
        assert servers.redis_url == "redis://cache.internal:6379/0"
        assert not servers.manages_postgres and not servers.manages_redis
        with pytest.raises(ServerError, match="not managed"):
            servers.stop_postgres()
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_restart_keeps_ports_and_data(server_control, database_url: str):
    postgres_port, redis_port = server_control.postgres.port, server_control.valkey.port
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (n int)")

    server_control.stop_postgres()
    server_control.stop_redis()
    assert not server_control.postgres.running and not server_control.valkey.running
    server_control.start_postgres()
    server_control.start_redis()

    assert (server_control.postgres.port, server_control.valkey.port) == (postgres_port, redis_port)
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM survives").fetchone() == (0,)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_servers_do_not_outlive_their_process(sig: signal.Signals, tmp_path: Path):
    if sig == signal.SIGKILL and shutil.which("setpriv") is None:
        pytest.skip("no parent-death signal without util-linux setpriv")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        env={**os.environ, "DATABASE_URL": "", "REDIS_URL": ""},
    )
    try:
        pids = json.loads(child.stdout.readline())
        assert all(_alive(pid) for pid in pids)

        child.send_signal(sig)
        assert child.wait(timeout=30) == -sig

        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids), "a server outlived the process that started it"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stdout.close()
