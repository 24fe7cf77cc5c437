"""Fixtures of the CLI tests: an isolated config directory, an in-process runner of `main(argv)`, a stub HTTP server
for error replies, and users of a fresh tenant on the local cloud."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from orchestrator_cli.main import main


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every CLI test gets its own XDG_CONFIG_HOME and none of the caller's ORCHESTRATOR_* settings."""
    config = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    for name in ("ORCHESTRATOR_API_URL", "ORCHESTRATOR_TOKEN", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    return config


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Runner:
    """Runs the CLI's `main(argv)` in this process, with standard input given as text (not a terminal)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch
        self.api_url: str | None = None

    def __call__(self, *argv: str, stdin: str = "") -> Result:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        args = list(argv)
        if self.api_url and "--api-url" not in args:
            args = ["--api-url", self.api_url, *args]
        code = main(args)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    return Runner(capsys, monkeypatch)


# -- a stub API: canned replies per "METHOD /path" ------------------------------------------------------------------


class StubApi:
    def __init__(self) -> None:
        self.replies: dict[str, tuple[int, Any, dict[str, str]]] = {}
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body) if body else None})
                key = f"{self.command} {self.path.split('?')[0]}"
                status, payload, headers = stub.replies.get(key, (404, {"message": f"no stub for {key}"}, {}))
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, method_path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.replies[method_path] = (status, body, headers or {})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    stub = StubApi()
    yield stub
    stub.close()


# -- the local cloud: users of a fresh tenant ------------------------------------------------------------------------


PASSWORD = "correct-horse-battery"


@dataclass
class User:
    username: str
    password: str
    token: str


class Tenant:
    """Creates users in one fresh tenant through the API (as the bootstrap admin)."""

    def __init__(self, cloud: Any):
        self.cloud = cloud
        self.name = f"t-{uuid.uuid4().hex[:10]}"
        creds = cloud.admin_credentials()
        self.admin_token = self._login(creds["username"], creds["password"])

    def _login(self, username: str, password: str) -> str:
        reply = self.cloud.request("POST", "/api/v1/auth/login", body={"username": username, "password": password})
        assert reply.status == 200, reply.body
        return json.loads(reply.body)["access_token"]

    def user(self, role: str) -> User:
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        reply = self.cloud.request("POST", "/api/v1/auth/register", token=self.admin_token, body={
            "username": username, "email": f"{username}@example.com", "password": PASSWORD, "role": role,
            "tenant_id": self.name})
        assert reply.status == 201, reply.body
        return User(username, PASSWORD, self._login(username, PASSWORD))


@pytest.fixture
def live_api(cli: Runner, local_cloud) -> Runner:
    """The CLI pointed at the local cloud's HTTP API."""
    cli.api_url = local_cloud.api_url
    return cli


@pytest.fixture
def tenant(local_cloud) -> Tenant:
    return Tenant(local_cloud)
