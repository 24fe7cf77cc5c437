"""API error replies become one clear line and a documented exit code, never a traceback (stub HTTP server)."""

from __future__ import annotations

import json
import socket

import pytest

from orchestrator_cli import exitcodes

DEPLOYMENT = "/api/v1/deployments/d-1"


@pytest.fixture
def api(stub_api, cli):
    cli.api_url = stub_api.url
    return stub_api


@pytest.mark.parametrize(("status", "body", "code", "fragment"), [
    (401, {"message": "Unauthorized"}, exitcodes.UNAUTHORIZED,
     "unauthorized: Unauthorized (HTTP 401); the token is invalid or expired: run `orchestrator login"),
    (403, {"message": "role 'viewer' lacks permission 'deployment:read'", "code": "forbidden"},
     exitcodes.FORBIDDEN, "forbidden: role 'viewer' lacks permission 'deployment:read' (HTTP 403)"),
    (404, {"message": "deployment d-1 not found", "code": "not_found"}, exitcodes.NOT_FOUND,
     "not found: deployment d-1 not found (HTTP 404)"),
    (409, {"message": "busy", "code": "conflict"}, exitcodes.CONFLICT, "conflict: busy (HTTP 409)"),
    (429, {"message": "Too Many Requests"}, exitcodes.THROTTLED, "throttled: Too Many Requests (HTTP 429)"),
    (503, {"message": "postgresql is unavailable; try again shortly", "code": "dependency_unavailable",
           "details": {"dependency": "postgresql"}}, exitcodes.UNAVAILABLE,
     "server error: postgresql is unavailable; try again shortly (HTTP 503)"),
    (502, b"<html>Bad Gateway</html>", exitcodes.UNAVAILABLE, "server error: <html>Bad Gateway</html> (HTTP 502)"),
])
def test_error_replies_map_to_exit_codes_and_one_line(cli, api, status, body, code, fragment):
    api.reply(f"GET {DEPLOYMENT}", status, body)
    result = cli("--token", "t", "show", "d-1")
    assert result.code == code
    assert result.err.count("\n") == 1 and fragment in result.err, result.err
    assert result.out == "" and "Traceback" not in result.err


def test_422_lists_every_field_error(cli, api):
    details = [{"loc": ["reason"], "location": "reason", "msg": "String should have at most 1000 characters",
                "type": "string_too_long"},
               {"loc": ["extra"], "location": "extra", "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden"}]
    api.reply(f"POST {DEPLOYMENT}/reject", 422, {"message": "2 invalid field(s): reason: ...",
                                                 "code": "validation_error", "details": details})
    result = cli("--token", "t", "reject", "d-1", "--reason", "x")
    assert result.code == exitcodes.INVALID
    lines = result.err.splitlines()
    assert lines[0].startswith("error: invalid input: 2 invalid field(s)")
    assert lines[1:] == ["  reason: String should have at most 1000 characters",
                         "  extra: Extra inputs are not permitted"]


def test_409_says_what_blocks_the_action(cli, api):
    message = ("cannot cancel a deployment that is completed; cancel applies to a deployment that is approved or "
               "awaiting_approval or executing or pending or planned or planning")
    api.reply(f"POST {DEPLOYMENT}/cancel", 409, {
        "message": message, "code": "action_not_allowed",
        "details": {"action": "cancel", "current": "completed", "allowed_from": ["approved"]}})
    result = cli("--token", "t", "cancel", "d-1")
    assert result.code == exitcodes.CONFLICT
    assert f"conflict: {message} (HTTP 409)" in result.err


def test_json_mode_prints_the_api_error_body_and_nothing_on_stderr(cli, api):
    api.reply(f"GET {DEPLOYMENT}", 404, {"message": "deployment d-1 not found", "code": "not_found"})
    result = cli("--json", "--token", "t", "show", "d-1")
    assert result.code == exitcodes.NOT_FOUND and result.err == ""
    assert result.json() == {"message": "deployment d-1 not found", "code": "not_found", "http_status": 404,
                             "exit_code": 12}


def test_a_failed_login_says_so_without_advice_to_log_in(cli, api):
    api.reply("POST /api/v1/auth/login", 401, {"message": "invalid username or password", "code": "unauthorized"})
    result = cli("login", "-u", "ann", "--password-stdin", stdin="wrong\n")
    assert result.code == exitcodes.UNAUTHORIZED
    assert result.err.strip() == "error: unauthorized: invalid username or password (HTTP 401)"


def test_requests_carry_token_correlation_id_and_an_idempotency_key(cli, api, tmp_path):
    from cli_helpers import three_cloud_intent

    created = {"id": "d-1", "status": "pending", "name": "web"}
    api.reply("POST /api/v1/deployments", 201, created)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(three_cloud_intent()))
    assert cli("--token", "tok", "deploy", str(path)).code == 0
    assert cli("--token", "tok", "deploy", str(path), "--idempotency-key", "my-key").code == 0
    first, second = api.requests
    assert first["headers"]["Authorization"] == "Bearer tok"
    assert first["headers"]["Idempotency-Key"] != second["headers"]["Idempotency-Key"] == "my-key"
    assert first["headers"]["X-Correlation-Id"].startswith("cli-")
    assert first["body"] == three_cloud_intent()


def test_ids_are_escaped_into_one_path_segment(cli, api):
    api.reply("GET /api/v1/deployments/a%2F..%2Fb", 404, {"message": "nope", "code": "not_found"})
    assert cli("--token", "t", "show", "a/../b").code == exitcodes.NOT_FOUND
    assert api.requests[0]["path"] == "/api/v1/deployments/a%2F..%2Fb"


def test_connection_refused_exits_15(cli):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("--api-url", f"http://127.0.0.1:{port}", "--token", "t", "list")
    assert result.code == exitcodes.UNAVAILABLE
    assert "cannot reach the API" in result.err and "connection refused" in result.err


def test_a_timeout_exits_15(cli):
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = cli("--api-url", url, "--token", "t", "--http-timeout", "0.3", "list")
    assert result.code == exitcodes.UNAVAILABLE
    assert "0.3s" in result.err or "timed out" in result.err


def test_an_unexpected_error_is_one_line_unless_debug(cli, api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("orchestrator_cli.render.deployment_view", explode)
    api.reply(f"GET {DEPLOYMENT}", 200, {"id": "d-1", "status": "completed"})
    api.reply(f"GET {DEPLOYMENT}/steps", 200, {"items": [], "next_cursor": None})
    result = cli("--token", "t", "show", "d-1")
    assert result.code == exitcodes.INTERNAL
    assert "unexpected RuntimeError: boom" in result.err and "Traceback" not in result.err
    debug = cli("--token", "t", "show", "d-1", "--debug")
    assert debug.code == exitcodes.INTERNAL and "Traceback" in debug.err and "-> GET" in debug.err


def test_terraform_for_a_provider_the_deployment_does_not_use_exits_12(cli, api, tmp_path):
    api.reply(f"GET {DEPLOYMENT}/terraform", 200, {"aws": {"resource": {}}})
    result = cli("--token", "t", "terraform", "d-1", "--provider", "gcp", "--out", str(tmp_path))
    assert result.code == exitcodes.NOT_FOUND and "has no gcp resources (it uses: aws)" in result.err
    assert list(tmp_path.iterdir()) == []
