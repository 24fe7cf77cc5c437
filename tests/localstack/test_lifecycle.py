"""The deployment lifecycle on LocalStack, over HTTP: LocalStack's Step Functions executes the state machine,
its Lambda service runs our functions (with the uploaded layer) and its EventBridge fires the schedule. The same
scenarios run against moto in tests/integration/test_workflow.py; here they prove the deploy targets an endpoint
that is not the one it was written against."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest
from api_client import intent
from conftest import RECONCILE_SCHEDULE, HttpApi, aws, history_counts, start_cloud

from localcloud.targets import _zip_tree

pytestmark = pytest.mark.localstack
SETTLED = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


@pytest.fixture
def deployer(admin: HttpApi, tenant: str) -> HttpApi:
    return admin.create_user("deployer", tenant)


@pytest.fixture
def operator(admin: HttpApi, tenant: str) -> HttpApi:
    return admin.create_user("operator", tenant)


def _finished_execution(arn: str, timeout: float = 120) -> dict:
    sfn = aws("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        assert time.monotonic() < deadline, f"execution still running after {timeout}s"
        time.sleep(0.5)


def _report(capsys, label: str, execution_arn: str) -> None:
    """The evidence: LocalStack's own execution history of the run (moto is not running in this session)."""
    counts = history_counts(execution_arn)
    with capsys.disabled():
        print(f"\n[localstack] {label}: {sum(counts.values())} history events "
              f"({', '.join(f'{kind} {n}' for kind, n in sorted(counts.items()))})")


def test_the_stack_runs_on_localstack_not_on_the_built_in_emulator(localstack_cloud):
    assert localstack_cloud.emulator.endpoint_url == aws("sts").meta.endpoint_url.rstrip("/")
    assert localstack_cloud.deployed.identity.account == aws("sts").get_caller_identity()["Account"]
    assert localstack_cloud.scheduler is None  # LocalStack's EventBridge fires the schedules
    machine = aws("stepfunctions").describe_state_machine(stateMachineArn=localstack_cloud.state_machine_arn)
    assert machine["status"] == "ACTIVE"


def test_approve_then_completed(deployer: HttpApi, operator: HttpApi, capsys):
    created = deployer.deploy(intent(auto_approve=False))
    waiting = deployer.wait_for(created["id"], "awaiting_approval", timeout=120)
    assert waiting["approval"]["required"] and "approval_task_token" not in str(waiting)
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/approve", {"comment": "plan reviewed"})
    assert reply.status == 200, reply.body
    done = operator.wait_for(created["id"], SETTLED, timeout=180)
    assert done["status"] == "completed", done
    assert done["approval"]["comment"] == "plan reviewed"
    assert sorted(r["resource_identifier"] for r in operator.resources(created["id"])) == [
        "aws/us-east-1/compute/app", "aws/us-east-1/network/vpc", "gcp/us-central1/database/db"]
    execution = _finished_execution(created["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    counts = history_counts(created["execution_arn"])
    assert counts["TaskSubmitted"] >= 1  # the approval task token (waitForTaskToken) was handed out
    assert counts["MapStateStarted"] >= 1 and counts["ExecutionSucceeded"] == 1
    _report(capsys, "completed run", created["execution_arn"])


def test_apply_failure_rolls_back_and_leaves_the_inventory_empty(operator: HttpApi, capsys):
    failing = intent(name="fails")
    failing["resources"][2]["properties"]["simulate"] = {"fail_apply": "always"}
    created = operator.deploy(failing)
    done = operator.wait_for(created["id"], SETTLED, timeout=240)
    assert done["status"] == "rolled_back", done
    assert "ApplyFailed" in done["error_message"]
    app = next(s for s in operator.steps(created["id"]) if s["resource_identifier"] == "aws/us-east-1/compute/app")
    assert app["status"] == "failed" and app["attempt_number"] == 3  # the state machine's Retry, on LocalStack
    assert operator.resources(created["id"]) == [] and operator.resources() == []
    counts = history_counts(created["execution_arn"])
    assert counts["TaskFailed"] >= 3  # three attempts of the failing step
    _report(capsys, "rolled-back run", created["execution_arn"])


def test_reject_ends_the_execution_as_rejected(deployer: HttpApi, operator: HttpApi):
    created = deployer.deploy(intent(auto_approve=False))
    deployer.wait_for(created["id"], "awaiting_approval", timeout=120)
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/reject", {"reason": "too expensive"})
    assert reply.status == 200 and reply.body["status"] == "rejected"
    execution = _finished_execution(created["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "Rejected"
    assert operator.get(created["id"])["error_message"].endswith("too expensive")
    assert operator.resources(created["id"]) == []


def test_cancel_while_awaiting_approval_cancels_the_execution(deployer: HttpApi, operator: HttpApi):
    created = deployer.deploy(intent(auto_approve=False))
    deployer.wait_for(created["id"], "awaiting_approval", timeout=120)
    reply = operator.call("POST", f"/api/v1/deployments/{created['id']}/cancel")
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    execution = _finished_execution(created["execution_arn"])
    assert execution["error"] == "Cancelled"
    assert operator.resources(created["id"]) == []


def _schedule(cloud, function_logical_id: str):
    return next(s for s in cloud.deployed.schedules if s.function_logical_id == function_logical_id)


def test_the_eventbridge_rule_fires_the_sweep_which_settles_an_orphaned_deployment(localstack_cloud,
                                                                                   deployer: HttpApi):
    """Nothing in this process fires the schedule: the rule, on LocalStack's clock, invokes the sweep."""
    created = deployer.deploy(intent(name="orphan", auto_approve=False))
    deployer.wait_for(created["id"], "awaiting_approval", timeout=120)
    sfn = aws("stepfunctions")
    # A workflow that ends without recording an outcome: one for a deployment that does not exist fails fast.
    ghost = sfn.start_execution(stateMachineArn=localstack_cloud.state_machine_arn, name=f"ghost-{uuid.uuid4().hex}",
                                input=json.dumps({"deployment_id": str(uuid.uuid4()), "tenant_id": "nobody",
                                                  "correlation_id": "c", "mode": "deploy", "error": None}))
    assert _finished_execution(ghost["executionArn"])["status"] == "FAILED"
    from orchestrator.wiring import services

    services().deployments.set_execution_arn(created["id"], ghost["executionArn"])
    rule = _schedule(localstack_cloud, "ReconcileFunction").rule_name
    assert aws("events").describe_rule(Name=rule)["ScheduleExpression"] == RECONCILE_SCHEDULE
    assert localstack_cloud.scheduler is None
    settled = deployer.wait_for(created["id"], "cancelled", timeout=150)
    assert "without recording an outcome" in settled["error_message"]


def test_fire_now_invokes_the_rules_target_through_localstack(localstack_cloud):
    rule = _schedule(localstack_cloud, "DriftScannerFunction").rule_name
    request = urllib.request.Request(f"{localstack_cloud.api_url}/_local/schedules/{rule}/fire", method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=120) as response:
        assert response.status == 200
        result = json.loads(response.read())
    assert {"deployments_scanned", "drift_items", "reports_with_drift"} == set(result)
    sweep = localstack_cloud.deployed.function_names["DriftScannerFunction"]
    # LocalStack ran it and kept its log; the log reaches CloudWatch Logs a moment after the invocation returns.
    deadline = time.monotonic() + 30
    while not _log_streams(f"/aws/lambda/{sweep}"):
        assert time.monotonic() < deadline, "the sweep left no log stream"
        time.sleep(0.5)


def _log_streams(group: str) -> list[dict]:
    logs = aws("logs")
    try:
        return logs.describe_log_streams(logGroupName=group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []


def _probe(localstack_cloud, tmp_path, source: str, timeout: int = 30) -> str:
    """A function of the test's own on LocalStack, with the stack's shared layer."""
    lam = aws("lambda")
    plan = localstack_cloud.deployed.function_names["PlanFunction"]
    layer = lam.get_function_configuration(FunctionName=plan)["Layers"][0]["Arn"]
    name = f"probe-{uuid.uuid4().hex[:8]}"
    (tmp_path / "app.py").write_text(source)
    role = localstack_cloud.emulator.identity.arn("iam", "role/orchestrator-local-lambda", regional=False)
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Layers=[layer], Role=role,
                        Code={"ZipFile": _zip_tree(tmp_path)}, Timeout=timeout)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def test_a_function_that_outlives_its_timeout_is_stopped_and_the_next_call_runs(localstack_cloud, tmp_path):
    lam = aws("lambda")
    name = _probe(localstack_cloud, tmp_path, "import time\n"
                  "def handler(event, context):\n"
                  "    time.sleep(event.get('sleep', 0))\n"
                  "    return {'left_ms': context.get_remaining_time_in_millis()}\n", timeout=2)
    started = time.monotonic()
    response = lam.invoke(FunctionName=name, Payload=b'{"sleep": 30}')
    error = json.loads(response["Payload"].read())
    assert response.get("FunctionError") and error["errorType"] == "Sandbox.Timedout", error
    assert time.monotonic() - started < 15
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert not response.get("FunctionError")
    assert 0 < json.loads(response["Payload"].read())["left_ms"] <= 2000


def test_a_function_whose_import_fails_reports_it_on_every_call(localstack_cloud, tmp_path):
    name = _probe(localstack_cloud, tmp_path, "import not_in_the_layer\n\ndef handler(event, context):\n    return 1\n")
    for _ in range(2):
        response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
        error = json.loads(response["Payload"].read())
        assert response.get("FunctionError") and error["errorType"] == "Runtime.ImportModuleError", error
        assert "not_in_the_layer" in error["errorMessage"]


def test_layer_that_runs_is_the_uploaded_one(localstack_cloud, tmp_path):
    """The functions import the orchestrator package and its dependencies from the layer LocalStack unzipped,
    not from this project's venv."""
    probe = _probe(localstack_cloud, tmp_path, "import sys, orchestrator, pydantic_core, psycopg\n"
                   "def handler(event, context):\n"
                   "    return {'modules': [m.__file__ for m in (orchestrator, pydantic_core, psycopg)],\n"
                   "            'version': list(sys.version_info[:2]), 'path': sys.path}\n")
    response = aws("lambda").invoke(FunctionName=probe, Payload=b"{}")
    result = json.loads(response["Payload"].read())
    assert not response.get("FunctionError"), result
    assert result["version"] == [3, 12]
    assert not any(".venv" in entry for entry in result["path"])
    code_dir, _, layer_dir = result["path"][:3]  # Lambda's order: /var/task, then the layer's /opt/python
    assert layer_dir.endswith("/python") and layer_dir != code_dir
    assert all(module.startswith(layer_dir + "/") for module in result["modules"]), result


def test_a_second_deploy_over_the_first_updates_it_and_still_runs_deployments(localstack_cloud, servers,
                                                                              cloud_database):
    before = localstack_cloud.deployed
    rule = _schedule(localstack_cloud, "DriftScannerFunction").rule_name
    again = start_cloud(servers, cloud_database)
    try:
        assert again.deployed.state_machine_arns == before.state_machine_arns
        assert again.deployed.secret_values == before.secret_values  # issued tokens and the admin password hold
        targets = aws("events").list_targets_by_rule(Rule=rule)["Targets"]
        assert [t["Arn"] for t in targets] == [before.function_arns["DriftScannerFunction"]]
        creds = again.admin_credentials()
        admin = HttpApi(again).login(creds["username"], creds["password"])
        operator = admin.create_user("operator", f"t-{uuid.uuid4().hex[:10]}")
        created = operator.deploy(intent(name="after-redeploy"))
        assert operator.wait_for(created["id"], SETTLED, timeout=180)["status"] == "completed"
    finally:
        again.stop()
