"""The local cloud's /console/ static route (infra/localcloud/api_server.py): files of console/ with their content
types, the ASL file as /console/asl.json, nothing outside the folder. No stack needed: these paths never reach the
gateway."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from localcloud.api_server import ApiServer, console_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    api = ApiServer(cloud=None, port=0).start()  # type: ignore[arg-type] - /console/ never touches the cloud
    yield api
    api.stop()


def get(server: ApiServer, path: str, method: str = "GET") -> http.client.HTTPResponse:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request(method, path)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.mark.parametrize(("path", "content_type"), [
    ("/console/", "text/html; charset=utf-8"),
    ("/console/index.html", "text/html; charset=utf-8"),
    ("/console/config.js", "text/javascript; charset=utf-8"),
    ("/console/js/app.js", "text/javascript; charset=utf-8"),
    ("/console/styles.css", "text/css; charset=utf-8"),
    ("/console/asl.json", "application/json"),
])
def test_serves_the_console_files_with_their_content_type(server, path: str, content_type: str):
    response = get(server, path)
    assert response.status == 200
    assert response.getheader("Content-Type") == content_type
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert int(response.getheader("Content-Length")) == len(response.body) > 0


def test_asl_json_is_the_state_machine_definition(server):
    served = json.loads(get(server, "/console/asl.json").body)
    assert served == json.loads((ROOT / "statemachines/deployment_lifecycle.asl.json").read_text())


def test_bare_console_redirects_so_relative_urls_resolve(server):
    response = get(server, "/console")
    assert response.status == 301 and response.getheader("Location") == "/console/"
    assert get(server, "/console?x=1").getheader("Location") == "/console/?x=1"


@pytest.mark.parametrize("path", [
    "/console/../pyproject.toml", "/console/..%2f..%2fpyproject.toml", "/console/%2e%2e/pyproject.toml",
    "/console/js/../../pyproject.toml", "/console//etc/passwd", "/console/%2fetc%2fpasswd",
    "/console/README.md", "/console/missing.js", "/console/js/", "/console/.hidden.js", "/console/js\\app.js",
    "/console/index.html%00.js",
])
def test_nothing_outside_the_folder_or_unlisted_is_served(server, path: str):
    assert get(server, path).status == 404


def test_console_file_resolution():
    assert console_file("/console/") == ROOT / "console" / "index.html"
    assert console_file("/console/js/app.js") == ROOT / "console" / "js" / "app.js"
    assert console_file("/console/../template.yaml") is None


def test_only_reads_are_allowed(server):
    assert get(server, "/console/index.html", method="POST").status == 405
    assert get(server, "/console/index.html", method="HEAD").status == 200
