"""The CLI against the real local cloud (`local_cloud`: the stack `make run` starts, in-process, over HTTP).

Each test works in a fresh tenant, so plans never see another test's resources. `main(argv)` runs in this process;
one test runs the installed `orchestrator` console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import failing_intent, log_in, three_cloud_intent, write_intent

from orchestrator_cli import exitcodes
from orchestrator_cli.credentials import CredentialStore

pytestmark = pytest.mark.integration

FAST = ["--interval", "0.1", "--timeout", "60"]


@pytest.fixture
def api(live_api):
    return live_api


@pytest.fixture
def operator(tenant, api):
    """An operator of a fresh tenant, logged in through the CLI (so its token is in the credentials file)."""
    return log_in(api, tenant, "operator")


def deploy_json(api, path: str, *extra: str) -> dict:
    result = api("--json", "deploy", path, *extra)
    assert result.code == 0, result.out + result.err
    return result.json()


def test_login_stores_a_private_token_and_whoami_uses_it(api, tenant, local_cloud, isolated_config):
    user = tenant.user("viewer")
    result = api("login", "-u", user.username, "--password-stdin", stdin=f"{user.password}\n")
    assert result.code == 0, result.err
    assert f"Logged in to {local_cloud.api_url} as {user.username} (role viewer, tenant {tenant.name})" in result.out
    path = isolated_config / "orchestrator" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert CredentialStore().get(local_cloud.api_url)["username"] == user.username
    who = api("--json", "whoami").json()
    assert (who["username"], who["role"], who["tenant_id"]) == (user.username, "viewer", tenant.name)
    token = CredentialStore().get(local_cloud.api_url)["access_token"]
    logout = api("logout")
    assert logout.code == 0 and "revoked" in logout.out, logout.out + logout.err
    assert api("whoami").code == exitcodes.UNAUTHORIZED
    assert api("--token", token, "whoami").code == exitcodes.UNAUTHORIZED  # revoked at the API, not only forgotten


def test_wrong_password_exits_10_with_the_servers_message(api, tenant):
    user = tenant.user("viewer")
    result = api("login", "-u", user.username, "--password-stdin", stdin="not-the-password\n")
    assert result.code == exitcodes.UNAUTHORIZED
    assert result.err.strip() == "error: unauthorized: invalid username or password (HTTP 401)"


def test_deploy_wait_of_a_three_cloud_intent_completes(api, operator, tmp_path):
    path = write_intent(tmp_path, three_cloud_intent("three-clouds"))
    result = api("deploy", path, "--wait", *FAST)
    assert result.code == 0, result.out + result.err
    assert "status completed" in result.out
    for step in ("aws/us-east-1/network/vpc", "gcp/us-central1/database/db", "azure/westeurope/storage/assets",
                 "aws/us-east-1/compute/app"):
        assert f"{step}: succeeded" in result.out
    assert "Plan      4 steps (4 create) in 3 waves" in result.out
    assert "completed" in result.err.splitlines()[-1]

    listed = api("--json", "list", "--status", "completed").json()
    assert [d["name"] for d in listed["items"]] == ["three-clouds"] and listed["total"] == 1
    deployment_id = listed["items"][0]["id"]
    shown = api("--json", "show", deployment_id).json()
    assert shown["status"] == "completed" and shown["progress_percentage"] == 100.0
    assert sorted(shown["providers"]) == ["aws", "azure", "gcp"]

    table = api("plan", deployment_id)
    assert table.code == 0
    for fragment in ("changed paths", "cost/month", "aws/us-east-1/compute/app", "create"):
        assert fragment in table.out
    plan = api("--json", "plan", deployment_id).json()
    assert plan["step_count"] == 4 and plan["wave_count"] == 3
    assert [s["wave"] for s in plan["step_page"]["items"]] == [0, 0, 1, 2] and plan["step_page"]["next_cursor"] is None
    first = api("--json", "show", deployment_id, "--limit", "3").json()["step_page"]
    rest = api("--json", "show", deployment_id, "--limit", "3", "--cursor", first["next_cursor"]).json()["step_page"]
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    paged = api("show", deployment_id, "--limit", "1")
    assert f"3 more steps: orchestrator show {deployment_id} --cursor " in paged.out, paged.out
    everything = api("--json", "show", deployment_id, "--limit", "1", "--all").json()["step_page"]
    assert [s["step_id"] for s in everything["items"]] == [s["step_id"] for s in plan["step_page"]["items"]]
    second_wave = api("--json", "plan", deployment_id, "--wave", "2", "--status", "succeeded").json()["step_page"]
    assert [s["wave"] for s in second_wave["items"]] == [1]

    events = api("--json", "events", deployment_id).json()["items"]
    assert events[0]["type"] == "created" and events[-1]["type"] == "completed"
    assert "execution_started" in api("events", deployment_id).out


def test_a_deployment_that_fails_to_apply_rolls_back_and_exits_3(api, operator, tmp_path):
    path = write_intent(tmp_path, failing_intent(), suffix=".json")
    result = api("deploy", path, "--wait", *FAST)
    assert result.code == exitcodes.ROLLED_BACK, result.out + result.err
    assert "status rolled_back: ApplyFailed" in result.out
    assert "aws/us-east-1/compute/app: failed (attempt 3)" in result.out
    assert "rolled_back: ApplyFailed" in result.err


def test_deploy_wait_in_json_mode_prints_only_the_final_deployment(api, operator, tmp_path):
    result = api("--json", "deploy", write_intent(tmp_path, three_cloud_intent("quiet")), "--wait", *FAST)
    assert result.code == 0 and result.err == ""
    final = result.json()
    assert final["status"] == "completed" and final["steps"]["by_status"] == {"succeeded": 4}


def test_approval_flow_with_approve(api, tenant, tmp_path):
    deployer, approver = tenant.user("deployer"), tenant.user("operator")
    path = write_intent(tmp_path, three_cloud_intent("needs-approval", auto_approve=False))
    created = deploy_json(api, path, "--token", deployer.token)
    assert created["status"] in {"pending", "planning", "planned", "awaiting_approval"}
    waiting = api("--json", "wait", created["id"], "--until", "awaiting_approval", "--token", deployer.token, *FAST)
    assert waiting.code == 0 and waiting.json()["status"] == "awaiting_approval"

    denied = api("approve", created["id"], "--token", deployer.token)
    assert denied.code == exitcodes.FORBIDDEN
    assert "forbidden: role 'deployer' lacks permission 'deployment:approve' (HTTP 403)" in denied.err

    approved = api("approve", created["id"], "--comment", "plan reviewed", "--token", approver.token)
    assert approved.code == 0 and "approved: now approved" in approved.out
    done = api("--json", "wait", created["id"], "--token", deployer.token, *FAST)
    assert done.code == 0
    final = done.json()
    assert final["status"] == "completed"
    assert final["approval"]["decided_by"] == approver.username and final["approval"]["comment"] == "plan reviewed"
    assert final["approval"]["decision"] == "approved"
    shown = api("show", created["id"][:8], "--token", deployer.token)
    assert f"approved by {approver.username} just now: plan reviewed" in shown.out, shown.out

    again = api("approve", created["id"], "--token", approver.token)
    assert again.code == exitcodes.CONFLICT and "cannot approve a deployment that is completed" in again.err


def test_reject_and_cancel_end_with_their_exit_codes(api, tenant, tmp_path):
    operator = tenant.user("operator")
    token = ["--token", operator.token]

    def awaiting(name: str) -> str:
        # One after the other: both name the same resources, which one in-flight deployment holds at a time.
        created = deploy_json(api, write_intent(tmp_path, three_cloud_intent(name, auto_approve=False)), *token)
        assert api("wait", created["id"], "--until", "awaiting_approval", *token, *FAST).code == 0
        return created["id"]

    rejected = awaiting("to-reject")
    too_long = api("reject", rejected, "--reason", "x" * 1001, *token)
    assert too_long.code == exitcodes.INVALID and "  reason: String should have at most 1000 characters" in too_long.err
    assert api("reject", rejected, "--reason", "too expensive", *token).code == 0
    assert api("wait", rejected, *token, *FAST).code == exitcodes.REJECTED
    assert api("--json", "show", rejected, *token).json()["approval"]["decision"] == "rejected"
    cancelled = awaiting("to-cancel")
    assert api("cancel", cancelled, *token).code == 0
    assert api("wait", cancelled, *token, *FAST).code == exitcodes.CANCELLED


def test_not_found_forbidden_and_unauthorized(api, tenant):
    viewer = tenant.user("viewer")
    missing = api("show", "00000000-0000-0000-0000-000000000000", "--token", viewer.token)
    assert missing.code == exitcodes.NOT_FOUND
    assert missing.err.strip() == ("error: not found: deployment 00000000-0000-0000-0000-000000000000 not found "
                                   "(HTTP 404)")
    as_json = api("--json", "show", "nope", "--token", viewer.token)
    assert as_json.code == exitcodes.NOT_FOUND and as_json.json()["code"] == "not_found"

    forbidden = api("drift", "scan", "nope", "--token", viewer.token)
    assert forbidden.code == exitcodes.FORBIDDEN
    assert "forbidden: role 'viewer' lacks permission 'drift:scan' (HTTP 403)" in forbidden.err

    unauthorized = api("list", "--token", "not-a-token")
    assert unauthorized.code == exitcodes.UNAUTHORIZED
    assert "unauthorized: Unauthorized (HTTP 401)" in unauthorized.err and "orchestrator login" in unauthorized.err
    as_json = api("--json", "list", "--token", "not-a-token")
    assert as_json.json() == {"message": "Unauthorized", "code": "unauthorized", "http_status": 401, "exit_code": 10}


def test_terraform_out_writes_one_valid_json_file_per_provider(api, operator, tmp_path):
    created = deploy_json(api, write_intent(tmp_path, three_cloud_intent("tf")))
    out = tmp_path / "tf-out"
    result = api("terraform", created["id"], "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["aws.tf.json", "azure.tf.json", "gcp.tf.json"]
    documents = {p.name.split(".")[0]: json.loads(p.read_text()) for p in out.iterdir()}
    assert "google" in json.dumps(documents["gcp"]) and "azurerm" in json.dumps(documents["azure"])
    assert all("resource" in doc for doc in documents.values())

    only = tmp_path / "only-gcp"
    listed = api("--json", "terraform", created["id"], "--provider", "gcp", "--out", str(only)).json()
    assert list(listed["files"]) == ["gcp"] and [p.name for p in only.iterdir()] == ["gcp.tf.json"]
    printed = api("terraform", created["id"], "--provider", "aws")
    assert json.loads(printed.out) == documents["aws"]


def test_drift_scan_reports_and_remediate(api, operator, local_cloud, tmp_path):
    created = deploy_json(api, write_intent(tmp_path, three_cloud_intent("drifty")), "--wait", *FAST)
    assert created["status"] == "completed"
    resources = json.loads(local_cloud.request("GET", f"/api/v1/cloud/resources?deployment_id={created['id']}",
                                               token=operator.token).body)["items"]
    database = next(r for r in resources if r["resource_type"] == "database")
    assert local_cloud.request("PATCH", f"/api/v1/cloud/resources/{database['id']}", token=operator.token,
                               body={"properties": {"encrypted": False}}).status == 200

    scan = api("drift", "scan", created["id"])
    assert scan.code == 0 and "property_changed" in scan.out and "properties.encrypted" in scan.out
    reports = api("--json", "drift", "reports", "--deployment", created["id"]).json()["items"]
    assert len(reports) == 1 and reports[0]["has_drift"] and reports[0]["max_severity"] == "high"
    listed = api("drift", "reports").out
    assert reports[0]["id"][:8] in listed and reports[0]["id"] not in listed  # short ids, as in `list`

    fix = api("--json", "drift", "remediate", reports[0]["id"][:8])  # any unique prefix
    assert fix.code == 0, fix.out
    fix_id = fix.json()["id"]
    assert api("wait", fix_id, "--until", "awaiting_approval", *FAST).code == 0
    assert api("approve", fix_id).code == 0
    assert api("wait", fix_id, *FAST).code == 0
    assert api("--json", "drift", "scan", created["id"]).json()["has_drift"] is False


def test_rollback_wait_of_a_completed_deployment_exits_0(api, operator, tmp_path):
    created = deploy_json(api, write_intent(tmp_path, three_cloud_intent("undo")), "--wait", *FAST)
    assert created["status"] == "completed"
    result = api("rollback", created["id"], "--wait", *FAST)
    assert result.code == 0, result.out + result.err
    assert "status rolled_back" in result.out
    again = api("rollback", created["id"])
    assert again.code == exitcodes.CONFLICT
    assert "cannot roll back a deployment that is rolled_back" in again.err


def test_the_installed_console_script(local_cloud, tenant, tmp_path, isolated_config):
    """The `orchestrator` entry point of pyproject.toml, run as a separate process."""
    script = shutil.which("orchestrator", path=str(Path(sys.executable).parent)) or shutil.which("orchestrator")
    assert script, "the orchestrator console script is not installed (pip install -e .)"
    env = {**os.environ, "XDG_CONFIG_HOME": str(isolated_config), "ORCHESTRATOR_API_URL": local_cloud.api_url}
    env.pop("ORCHESTRATOR_TOKEN", None)

    def run(*argv: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([script, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=60)

    assert "exit codes:" in run("--help").stdout
    user = tenant.user("operator")
    login = run("login", "-u", user.username, "--password-stdin", stdin=user.password + "\n")
    assert login.returncode == 0, login.stderr
    path = write_intent(tmp_path, three_cloud_intent("from-a-subprocess"))
    deployed = run("--json", "deploy", path, "--wait", *FAST)
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["status"] == "completed" and deployed.stderr == ""
    missing = run("show", "nope")
    assert missing.returncode == exitcodes.NOT_FOUND and "Traceback" not in missing.stderr
    bad = dict(three_cloud_intent("bad"), target_providers=["aws"])
    invalid = run("deploy", write_intent(tmp_path, bad))
    assert invalid.returncode == exitcodes.INVALID
    assert "resources.1.provider: provider 'gcp' is not among target_providers" in invalid.stderr


def test_an_api_token_made_with_the_cli_serves_as_orchestrator_token_until_revoked(api, operator, monkeypatch,
                                                                                   tenant):
    created = api("--json", "token", "create", "ci-deploy", "--role", "deployer", "--expires-in-days", "7")
    assert created.code == 0, created.out + created.err
    token = created.json()
    assert token["token"].startswith("orch_") and token["role"] == "deployer"
    listed = api("--json", "token", "list")
    assert [t["id"] for t in listed.json()["items"]] == [token["id"]] and "token" not in listed.json()["items"][0]

    monkeypatch.setenv("ORCHESTRATOR_TOKEN", token["token"])
    whoami = api("--json", "whoami")
    assert whoami.code == 0 and whoami.json()["username"] == operator.username, whoami.err
    monkeypatch.delenv("ORCHESTRATOR_TOKEN")

    assert api("token", "revoke", token["id"]).code == 0
    monkeypatch.setenv("ORCHESTRATOR_TOKEN", token["token"])
    refused = api("whoami")
    assert refused.code == exitcodes.UNAUTHORIZED, refused.out + refused.err


def test_policy_and_freeze_commands_manage_the_tenants_set_and_the_plan_view_shows_results(api, tenant, tmp_path):
    admin = tenant.user("admin")
    assert api("login", "--username", admin.username, "--password-stdin", stdin=admin.password + "\n").code == 0
    policy = {"name": "owner-tag", "description": "someone answers for it", "environments": [],
              "enforcement": "advisory", "rule": {"tag_required": "owner"}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    created = api("policy", "apply", str(path))
    assert created.code == 0 and "Policy owner-tag created" in created.out, created.out + created.err
    path.write_text(yaml.safe_dump({**policy, "enforcement": "mandatory"}))
    assert "Policy owner-tag replaced" in api("policy", "apply", str(path)).out
    assert api("--json", "policy", "show", "owner-tag").json()["enforcement"] == "mandatory"
    assert "owner-tag" in api("policy", "list").out
    path.write_text(yaml.safe_dump({**policy, "name": "bad", "rule": {"allowed_regions": ["mars-1"]}}))
    bad = api("policy", "apply", str(path))
    assert bad.code != 0 and "rule.allowed_regions.0" in bad.err, bad.err

    deployment = deploy_json(api, write_intent(tmp_path, three_cloud_intent("tagless")))
    assert api("wait", deployment["id"], *FAST).code == exitcodes.POLICY_BLOCKED
    shown = api("plan", deployment["id"])
    assert "owner-tag [mandatory]: blocked" in shown.out, shown.out

    added = api("freeze", "add", "weekend", "--reason", "thin on-call", "--environment", "production",
                "--cron", "0 18 * * 5", "--duration-minutes", "3840", "--timezone", "Europe/Berlin")
    assert added.code == 0, added.err
    listed = api("--json", "freeze", "list").json()["items"]
    assert [(w["name"], w["cron"], w["timezone"]) for w in listed] == [("weekend", "0 18 * * 5", "Europe/Berlin")]
    assert api("freeze", "delete", "weekend").code == 0
    assert api("--json", "freeze", "list").json()["items"] == []
    assert api("policy", "delete", "owner-tag").code == 0
    assert api("policy", "show", "owner-tag").code == exitcodes.NOT_FOUND


def test_ids_are_accepted_by_any_unique_prefix_and_lists_show_8_characters(api, operator, tmp_path):
    created = deploy_json(api, write_intent(tmp_path, three_cloud_intent("by-prefix")), "--wait", *FAST)
    listed = api("list")
    assert created["id"][:8] in listed.out and created["id"] not in listed.out
    assert api("list", "--wide").out.count(created["id"]) == 1
    for prefix in (created["id"][:8], created["id"][:4].upper()):
        shown = api("--json", "show", prefix)
        assert shown.code == 0 and shown.json()["id"] == created["id"], shown.err
    assert api("events", created["id"][:6]).code == 0
    missing = api("show", "ffffeeee")
    assert missing.code == exitcodes.NOT_FOUND and "no deployment id starts with 'ffffeeee'" in missing.err


def test_a_policy_block_exits_7(api, operator):
    blocked = api("deploy", str(Path(__file__).parents[2] / "examples" / "policy-violation.yaml"), "--wait", *FAST)
    assert blocked.code == exitcodes.POLICY_BLOCKED, blocked.out + blocked.err
    assert "failed" in blocked.err
