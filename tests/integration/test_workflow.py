"""The lifecycle state machine, executed for real on the emulator's Step Functions engine, with our handlers
running in-process against real PostgreSQL and Valkey."""

from __future__ import annotations

import json
import uuid

import pytest
from api_client import Api, intent

pytestmark = pytest.mark.integration


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def test_auto_approved_deployment_completes_and_creates_the_resources(operator: Api):
    created = operator.deploy(intent())
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})
    assert done["status"] == "completed", done
    assert done["progress_percentage"] == 100.0
    assert done["plan"]["step_count"] == 3 and done["plan"]["wave_count"] == 3
    assert done["steps"]["by_status"] == {"succeeded": 3}
    assert [s["status"] for s in operator.steps(created["id"])] == ["succeeded"] * 3
    resources = operator.resources(created["id"])
    assert sorted(r["resource_identifier"] for r in resources) == [
        "aws/us-east-1/compute/app", "aws/us-east-1/network/vpc", "gcp/us-central1/database/db"]
    types = [e["type"] for e in operator.events(created["id"])]
    assert types[0] == "created" and types[-1] == "completed"
    assert {"plan_generated", "approved", "execution_started", "step_succeeded", "verified"} <= set(types)


def _event_types(api: Api, deployment_id: str) -> list[str]:
    return [e["type"] for e in api.events(deployment_id)]


def test_manual_approval_path_waits_then_completes_after_approve(admin: Api, tenant: str):
    deployer = admin.create_user("deployer", tenant)
    operator = admin.create_user("operator", tenant)
    created = deployer.deploy(intent(auto_approve=False))
    waiting = deployer.wait_for(created["id"], "awaiting_approval")
    assert waiting["approval"]["required"] and waiting["approval"]["requested_at"]
    assert "approval_task_token" not in str(waiting)
    assert operator.call("POST", f"/api/v1/deployments/{created['id']}/approve",
                         {"comment": "plan reviewed"}).status == 200
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})
    assert done["status"] == "completed"
    assert done["approval"]["decided_by"].startswith("operator-") and done["approval"]["comment"] == "plan reviewed"


def test_reject_ends_the_execution_as_rejected(operator: Api, local_cloud):
    created = operator.deploy(intent(auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/reject", {"reason": "too expensive"})
    assert reply.status == 200 and reply.body["status"] == "rejected"
    sfn = local_cloud.emulator.client("stepfunctions")
    execution = _wait_execution(sfn, created["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "Rejected"
    assert operator.get(created["id"])["error_message"].endswith("too expensive")
    assert operator.resources(created["id"]) == []


def _wait_execution(sfn, arn: str, timeout: float = 30) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        assert time.monotonic() < deadline, "execution still running"
        time.sleep(0.05)


def test_approval_expires_after_the_intents_timeout(operator: Api):
    created = operator.deploy(intent(auto_approve=False, approval_timeout_seconds=1))
    done = operator.wait_for(created["id"], {"cancelled", "completed"}, timeout=30)
    assert done["status"] == "cancelled"
    assert "approval expired" in done["error_message"]


def test_cancel_while_awaiting_approval_cancels_the_execution(operator: Api, local_cloud):
    created = operator.deploy(intent(auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/cancel")
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    execution = _wait_execution(local_cloud.emulator.client("stepfunctions"), created["execution_arn"])
    assert execution["error"] == "Cancelled"
    assert operator.resources(created["id"]) == []


def test_apply_failure_rolls_back_and_leaves_the_inventory_as_before(operator: Api):
    before = {r["resource_identifier"]: r for r in operator.resources()}
    failing = intent(name="fails")
    failing["resources"][2]["properties"]["simulate"] = {"fail_apply": "always"}
    created = operator.deploy(failing)
    done = operator.wait_for(created["id"], {"rolled_back", "failed", "completed"}, timeout=60)
    assert done["status"] == "rolled_back", done
    assert "ApplyFailed" in done["error_message"]
    app = next(s for s in operator.steps(created["id"]) if s["resource_identifier"] == "aws/us-east-1/compute/app")
    assert app["status"] == "failed" and app["attempt_number"] == 3
    assert {r["resource_identifier"]: r for r in operator.resources()} == before
    types = _event_types(operator, created["id"])
    assert types.count("step_failed") == 3 and "rollback_started" in types and types[-1] == "rolled_back"


def test_fail_once_then_succeed_records_attempt_two_and_one_resource(operator: Api):
    flaky = intent(name="flaky")
    flaky["resources"][1]["properties"]["simulate"] = {"fail_apply": 1}
    created = operator.deploy(flaky)
    done = operator.wait_for(created["id"], {"completed", "rolled_back", "failed"})
    assert done["status"] == "completed"
    db_step = next(s for s in operator.steps(created["id"])
                   if s["resource_identifier"] == "gcp/us-central1/database/db")
    assert db_step["attempt_number"] == 2 and db_step["status"] == "succeeded"
    resources = [r for r in operator.resources(created["id"]) if r["resource_type"] == "database"]
    assert len(resources) == 1


def test_verify_failure_rolls_back_everything_applied(operator: Api):
    unverifiable = intent(name="unverifiable")
    unverifiable["resources"][0]["properties"]["simulate"] = {"fail_verify": True}
    created = operator.deploy(unverifiable)
    done = operator.wait_for(created["id"], {"rolled_back", "failed", "completed"}, timeout=60)
    assert done["status"] == "rolled_back"
    assert "VerificationFailed" in done["error_message"]
    assert operator.resources(created["id"]) == []
    assert all(s["rolled_back"] for s in operator.steps(created["id"], status="succeeded"))


def test_manual_rollback_of_a_completed_deployment_removes_its_resources(operator: Api):
    created = operator.deploy(intent(name="to-undo"))
    assert operator.wait_for(created["id"], {"completed", "failed"})["status"] == "completed"
    assert len(operator.resources(created["id"])) == 3
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/rollback")
    assert reply.status == 200 and reply.body["status"] == "rolling_back"
    done = operator.wait_for(created["id"], {"rolled_back", "failed"})
    assert done["status"] == "rolled_back"
    assert operator.resources(created["id"]) == []


def test_policy_violation_blocks_the_plan(operator: Api):
    public = intent(name="leaky", environment="production", resources=[
        {"resource_type": "storage", "provider": "aws", "region": "us-east-1", "name": "bucket",
         "properties": {"public_access": True}, "tags": {"owner": "web"}}])
    created = operator.deploy(public)
    done = operator.wait_for(created["id"], {"failed", "completed", "awaiting_approval"})
    assert done["status"] == "failed"
    assert "blocked by policy" in done["error_message"]
    assert done["plan"]["policy"]["violations"]


def test_scheduled_drift_scan_reports_tampering_and_remediation_goes_through_approval(operator: Api, local_cloud):
    created = operator.deploy(intent(name="drifty"))
    assert operator.wait_for(created["id"], {"completed", "failed"})["status"] == "completed"
    resources = {r["resource_identifier"]: r for r in operator.resources(created["id"])}
    vpc = resources["aws/us-east-1/network/vpc"]
    db = resources["gcp/us-central1/database/db"]
    app = resources["aws/us-east-1/compute/app"]
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{db['id']}",
                         {"properties": {"encrypted": False}}).status == 200
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{vpc['id']}", {"tags": {"team": "other"}}).status == 200
    assert operator.call("DELETE", f"/api/v1/cloud/resources/{app['id']}").status == 204

    result = local_cloud.fire_schedule()
    assert result["deployments_scanned"] >= 1
    reports = operator.call("GET", f"/api/v1/drift/reports?deployment_id={created['id']}").body["items"]
    assert len(reports) == 1
    report = reports[0]
    severities = {(i["drift_type"], i["resource_identifier"]): i["severity"] for i in report["items"]}
    assert severities == {
        ("resource_removed", "aws/us-east-1/compute/app"): "critical",
        ("property_changed", "gcp/us-central1/database/db"): "high",
        ("tag_changed", "aws/us-east-1/network/vpc"): "low",
    }
    assert report["max_severity"] == "critical" and report["critical_count"] == 1 and report["high_count"] == 1

    remediation = operator.call("POST", f"/api/v1/drift/reports/{report['id']}/remediate")
    assert remediation.status == 201, remediation.body
    fix = operator.wait_for(remediation.body["id"], "awaiting_approval")
    reports = operator.call("GET", f"/api/v1/drift/reports?deployment_id={created['id']}").body["items"]
    assert reports[0]["remediation_deployment_id"] == fix["id"]
    approver = operator  # an operator may approve outside production
    assert approver.call("POST", f"/api/v1/deployments/{fix['id']}/approve").status == 200
    assert operator.wait_for(fix["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"
    rescan = operator.call("POST", "/api/v1/drift/scan", {"deployment_id": created["id"]})
    assert rescan.status == 200 and rescan.body["has_drift"] is False, rescan.body


def test_idempotency_key_returns_the_first_deployment_and_refuses_another_body(operator: Api):
    key = {"Idempotency-Key": f"key-{uuid.uuid4().hex}"}
    first = operator.call("POST", "/api/v1/deployments", intent(name="once"), headers=key)
    again = operator.call("POST", "/api/v1/deployments", intent(name="once"), headers=key)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"]
    other = operator.call("POST", "/api/v1/deployments", intent(name="different"), headers=key)
    assert other.status == 422 and other.body["code"] == "idempotency_key_reused"
    listed = operator.call("GET", "/api/v1/deployments?limit=200")
    assert listed.status == 200, listed.body
    names = [d["name"] for d in listed.body["items"]]
    assert names.count("once") == 1


def test_cancel_while_executing_rolls_back_what_was_applied(operator: Api):
    slow = intent(name="slow")
    slow["resources"][1]["properties"]["simulate"] = {"latency_ms": 1500}  # the database, wave 2
    created = operator.deploy(slow)
    operator.wait_for(created["id"], "executing")
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/cancel")
    assert reply.status == 200 and reply.body["status"] == "rolling_back"
    done = operator.wait_for(created["id"], {"rolled_back", "failed", "completed"}, timeout=60)
    assert done["status"] == "rolled_back", done
    assert operator.resources(created["id"]) == []
    types = _event_types(operator, created["id"])
    assert "rollback_started" in types and types[-1] == "rolled_back" and "completed" not in types


def test_scheduled_sweep_settles_a_deployment_whose_workflow_ended_unrecorded(operator: Api, local_cloud):
    created = operator.deploy(intent(name="orphan", auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")
    # An execution that ends without recording its outcome: one for a deployment that does not exist fails fast.
    sfn = local_cloud.emulator.client("stepfunctions")
    ghost = sfn.start_execution(stateMachineArn=local_cloud.state_machine_arn, name=f"ghost-{uuid.uuid4().hex}",
                                input=json.dumps({"deployment_id": str(uuid.uuid4()), "tenant_id": "nobody",
                                                  "correlation_id": "c", "mode": "deploy", "error": None}))
    assert _wait_execution(sfn, ghost["executionArn"])["status"] == "FAILED"
    from orchestrator.wiring import services

    services().deployments.set_execution_arn(created["id"], ghost["executionArn"])

    result = local_cloud.fire("ReconcileFunction")
    assert created["id"] in result["deployments_settled"]
    settled = operator.get(created["id"])
    assert settled["status"] == "cancelled"  # nothing was applied: awaiting approval ends cancelled, not failed
    assert "without recording an outcome" in settled["error_message"]
    assert local_cloud.fire("ReconcileFunction")["deployments_settled"] == []  # settled once
