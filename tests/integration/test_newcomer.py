"""`make run` as a newcomer meets it: a busy port is one line naming the variable to set; the banner says how to
point the CLI at the API; the admin password is shell-safe and kept in a file only its owner can read."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.process import LocalCloudProcess
from localcloud.servers import repo_root

pytestmark = pytest.mark.integration


def test_a_busy_api_port_is_one_line_naming_the_variable(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
               "ORCH_API_PORT": str(port), "ORCH_DATA_DIR": str(tmp_path / "data")}
        run = subprocess.run([sys.executable, "-m", "localcloud"], cwd=repo_root(), env=env, capture_output=True,
                             text=True, timeout=60)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"port {port}" in lines[0] and "ORCH_API_PORT=" in lines[0]
    assert "Traceback" not in run.stdout + run.stderr


@pytest.fixture
def cloud_process(tmp_path: Path, database_url: str, servers, redis_key_prefix: str):
    cloud = LocalCloudProcess(tmp_path, {"DATABASE_URL": database_url, "REDIS_URL": servers.redis_url,
                                         "REDIS_KEY_PREFIX": redis_key_prefix})
    yield cloud
    cloud.stop()


def test_banner_exports_the_api_url_and_the_password_is_shell_safe_in_a_private_file(cloud_process, tmp_path):
    cloud = cloud_process.start()
    banner = cloud.log.read_text()
    assert f"export ORCHESTRATOR_API_URL={cloud.url}\n" in banner

    password = cloud.admin_password()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password)  # nothing a shell would interpret
    password_file = tmp_path / "admin-password"
    assert password_file.read_text() == password + "\n"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    status, body = cloud.call("POST", "/api/v1/auth/login", {"username": "admin", "password": password})
    assert status == 200, body
