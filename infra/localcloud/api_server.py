"""The REST API on http://127.0.0.1:3000: each HTTP request goes through the API Gateway emulation.

Also serves, under /_local/, what only a local cloud has: firing a schedule now (tests and demos); and under
/console/, the static console page (console/) with the state machine definition as /console/asl.json.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .cloud import LocalCloud

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIR = ROOT / "console"
CONSOLE_ASL = ROOT / "statemachines" / "deployment_lifecycle.asl.json"
# Only these kinds of file are served from console/ (so its README, say, is not).
CONSOLE_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
                 ".png": "image/png", ".ico": "image/x-icon"}


def console_file(path: str) -> Path | None:
    """The file under console/ that a /console/... path names, or None (unknown, hidden, or outside the folder)."""
    rest = unquote(path).removeprefix("/console/")
    if rest == "asl.json":
        return CONSOLE_ASL
    parts = rest.split("/") if rest else ["index.html"]
    if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    root = CONSOLE_DIR.resolve()
    candidate = root.joinpath(*parts).resolve()  # a symlink out of the folder is caught below
    if not candidate.is_relative_to(root) or candidate.suffix not in CONSOLE_TYPES \
            or not candidate.is_file():
        return None
    return candidate


def _handler_for(cloud: LocalCloud) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "orchestrator-local"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _local(self, path: str) -> bool:
            parts = path.strip("/").split("/")
            if parts[:2] == ["_local", "schedules"] and len(parts) == 4 and parts[3] == "fire" \
                    and self.command == "POST":
                schedule = next((s for s in cloud.deployed.schedules if s.rule_name == parts[2]), None)
                if schedule is None:
                    self._send(404, {"Content-Type": "application/json"}, b'{"message": "no such schedule"}')
                else:
                    result = cloud.fire_schedule(schedule)
                    self._send(200, {"Content-Type": "application/json"}, json.dumps(result).encode())
                return True
            if parts[:2] == ["_local", "schedules"] and len(parts) == 2 and self.command == "GET":
                body = [{"rule": s.rule_name, "expression": s.expression, "function": s.function_logical_id}
                        for s in cloud.deployed.schedules]
                self._send(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
                return True
            return False

        def _console(self, url) -> None:
            if url.path == "/console":  # so that the page's relative URLs resolve under /console/
                self._send(301, {"Location": "/console/" + (f"?{url.query}" if url.query else "")}, b"")
                return
            if self.command not in ("GET", "HEAD"):
                self.close_connection = True  # any request body stays unread
                self._send(405, {"Allow": "GET, HEAD", "Content-Type": "text/plain"}, b"method not allowed")
                return
            file = console_file(url.path)
            if file is None:
                self._send(404, {"Content-Type": "text/plain"}, b"not found")
                return
            self._send(200, {"Content-Type": CONSOLE_TYPES[file.suffix], "Cache-Control": "no-cache",
                             "X-Content-Type-Options": "nosniff"}, file.read_bytes())

        def _handle(self) -> None:
            url = urlsplit(self.path)
            if url.path.startswith("/_local/") and self._local(url.path):
                return
            if url.path == "/console" or url.path.startswith("/console/"):
                self._console(url)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(413, {"Content-Type": "application/json"},
                           b'{"message": "Request Too Long", "code": "payload_too_large"}')
                return
            body = self.rfile.read(length) if length else None
            headers = {key: value for key, value in self.headers.items()}
            query = parse_qs(url.query, keep_blank_values=True)
            response = cloud.gateway.handle(self.command, url.path, headers=headers, query=query, body=body,
                                            source_ip=self.client_address[0])
            self._send(response.status, response.headers, response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        def __getattr__(self, name: str):
            # Any other method (TRACE, QUERY, ...) reaches the gateway too, which answers it as API Gateway does
            # for a method no route has, instead of http.server's 501.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    return Handler


class _Server(ThreadingHTTPServer):
    # Bursts of clients (20 deployments created at once) overflow the default backlog of 5.
    request_queue_size = 128
    daemon_threads = True


class ApiServer:
    """A threaded HTTP server bound to loopback, in a daemon thread."""

    def __init__(self, cloud: LocalCloud, host: str = "127.0.0.1", port: int = 3000):
        self._server = _Server((host, port), _handler_for(cloud))
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
