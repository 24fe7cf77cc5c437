"""The API against its own OpenAPI document: schemathesis generates requests from /openapi.json (valid ones and
invalid ones), sends them to the local cloud over HTTP with an admin's token, and checks every answer: no 5xx, only
documented statuses and content types, bodies that match the documented schemas. Then its stateful phase follows the
document's links (create -> get -> approve ...).

Login is left out: thousands of generated failures from one address would trip the per-address login throttle for
the rest of the session. Its contract is covered by the HTTP tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MIN_CASES = 1000


@pytest.fixture
def tenant_admin(admin) -> str:
    """An admin of a tenant of its own: what the generated requests create stays out of other tests' tenants."""
    username = f"contract-{uuid.uuid4().hex[:8]}"
    reply = admin.call("POST", "/api/v1/auth/register", {
        "username": username, "email": f"{username}@example.com", "password": "correct-horse-battery",
        "role": "admin", "tenant_id": f"contract-{uuid.uuid4().hex[:8]}"})
    assert reply.status == 201, reply.body
    return admin.login(username, "correct-horse-battery").token


def test_every_operation_keeps_the_documented_contract(local_cloud, tenant_admin: str, tmp_path: Path):
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{local_cloud.api_url}/openapi.json",
        "--header", f"Authorization: Bearer {tenant_admin}",
        "--checks", CHECKS, "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", "40", "--seed", "20261201", "--no-shrink", "--workers", "2",
        "--exclude-path", "/api/v1/auth/login",
        # Below the stage throttle (50 requests/s), so every answer is the API's own.
        "--rate-limit", "40/s", "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report), "--output-truncate", "true",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("hooks.py"))}
    run = subprocess.run(command, capture_output=True, text=True, timeout=480, cwd=tmp_path, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    assert cases["generated"] >= MIN_CASES and cases["with_failures"] == 0 and cases["errored"] == 0, cases
    assert summary["failures"] == [] and summary["errors"] == []
    assert {name: phase["status"] for name, phase in summary["phases"].items()} == {
        "examples": "success", "coverage": "success", "fuzzing": "success", "stateful": "success"}, summary["phases"]
    assert summary["operations"]["tested"] == summary["operations"]["selected"] >= 20
    # The stateful phase followed the links from a created deployment (create -> get -> approve ...).
    unreached = set(summary["warnings"]["missing_test_data"])
    assert not unreached & {"GET /api/v1/deployments/{deployment_id}",
                            "POST /api/v1/deployments/{deployment_id}/approve"}, unreached
