"""The local cloud as a separate process (`python -m localcloud`) on given servers, so that a fault test or the chaos
benchmark can kill it like a crash and start it again on the same data, and talk to it over HTTP like a user."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .emulator import free_port
from .servers import repo_root

# What a shell hands the process; the rest of this process's environment (its own emulator's AWS settings, say)
# must not leak into the child.
_INHERITED = ("PATH", "HOME", "LANG", "TMPDIR", "CI")


class LocalCloudProcess:
    def __init__(self, data_dir: Path, environment: dict[str, str], *, start_timeout: float = 120.0):
        self.data_dir, self.environment, self.start_timeout = Path(data_dir), environment, start_timeout
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.log = self.data_dir / "local-cloud.log"

    def start(self) -> LocalCloudProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        env = {**{k: v for k, v in os.environ.items() if k in _INHERITED}, **self.environment,
               "ORCH_API_PORT": str(api_port), "ORCH_AWS_PORT": str(free_port()), "ORCH_DATA_DIR": str(self.data_dir)}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "localcloud"], cwd=repo_root(), env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + self.start_timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"the local cloud exited: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the local cloud did not start within {self.start_timeout}s ({self.log})")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        return "ready in" in self.log.read_text(errors="replace") and self.call("GET", "/health/live")[0] == 200

    def kill(self) -> None:
        """SIGKILL, like a crash: nothing gets to record anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def admin_password(self) -> str:
        return re.findall(r"username admin\s+password (\S+)", self.log.read_text(errors="replace"))[-1]

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, *,
             raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, JSON body or None); status 0 when nothing answered."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, method=method, data=data)
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        except OSError:
            return 0, None
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text.decode(errors="replace")

    def fire(self, function_logical_id: str) -> tuple[int, Any]:
        """Fire now the schedule whose target is that function."""
        _, schedules = self.call("GET", "/_local/schedules")
        rule = next(s["rule"] for s in schedules if s["function"] == function_logical_id)
        return self.call("POST", f"/_local/schedules/{rule}/fire")
