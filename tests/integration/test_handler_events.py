"""Every sample event under events/ invoked on its function, through the emulator's Lambda API (as Step Functions,
EventBridge, CloudFormation and API Gateway reach them), with the samples' ids and tokens replaced by real ones
made here: a real deployment, a real token, a real task token, a real CloudFormation response URL.

Task samples are also run on "detached" deployments: their Step Functions execution is stopped, so the test plays
the state machine and calls the tasks in its order. A sample without a test fails
`test_every_sample_event_is_exercised_by_a_test`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from api_client import Api

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"
# The ids the samples carry, replaced by real ones.
SAMPLE_DEPLOYMENT = "3f2b8c1e-5d4a-4b6e-9f10-2a7c9e8d1b01"
SAMPLE_RESOURCE = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SAMPLE_REPORT = "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
TASK_SAMPLES = ["plan.json", "request_approval.json", "apply_step.json", "destroy_step.json", "verify.json",
                "finalize_executing.json", "finalize_completed.json", "finalize_failed.json",
                "finalize_rolling_back.json", "finalize_rolled_back.json", "finalize_approval_expired.json"]
FUNCTIONS = {"authorizer": "AuthorizerFunction", "plan": "PlanFunction", "request_approval": "RequestApprovalFunction",
             "apply_step": "ApplyStepFunction", "destroy_step": "DestroyStepFunction", "verify": "VerifyFunction",
             "drift_scanner": "DriftScannerFunction", "migrate": "MigrateFunction",
             "reconcile": "ReconcileFunction", "notify": "NotifyFunction"}

EXERCISED: dict[str, str] = {}  # sample (relative to events/) -> the test that invokes it


def exercises(*samples: str) -> Callable:
    def register(test: Callable) -> Callable:
        for name in samples:
            assert (EVENTS / name).is_file(), f"no sample {name}"
            EXERCISED.setdefault(name, test.__name__)
        return test

    return register


def sample(name: str) -> dict[str, Any]:
    assert name in EXERCISED, f"{name} is used by a test that does not declare it with @exercises"
    return json.loads((EVENTS / name).read_text())


def function_for(name: str) -> str:
    """The template's logical id of the function a sample is for."""
    if name.startswith("api/"):
        return "ApiFunction"
    stem = name.removesuffix(".json")
    return "FinalizeFunction" if stem.startswith("finalize_") else FUNCTIONS[stem]


# ---------------------------------------------------------------------------------------------------------------
# Invoking functions through the emulator's Lambda API
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Result:
    payload: Any
    error: str | None  # the Lambda error type (the name Step Functions' Retry/Catch match on), or None

    def ok(self) -> Any:
        assert self.error is None, self.payload
        return self.payload


class Functions:
    def __init__(self, cloud):
        self._client = cloud.emulator.client("lambda")
        self.names = cloud.deployed.function_names

    def invoke(self, logical_id: str, event: Any) -> Result:
        response = self._client.invoke(FunctionName=self.names[logical_id], Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            return Result(payload, payload.get("errorType") or "Unknown")
        return Result(payload, None)

    def sample(self, name: str, event: dict[str, Any] | None = None) -> Result:
        return self.invoke(function_for(name), event if event is not None else sample(name))


@dataclass
class Caller:
    """A real user: their token, and what the authorizer hands API Gateway for it."""

    api: Api
    username: str
    role: str
    authorizer: dict[str, Any] = field(default_factory=dict)


def authorizer_event(token: str | None) -> dict[str, Any]:
    event = sample("authorizer.json")
    if token is None:
        event["headers"].pop("Authorization")
    else:
        event["headers"]["Authorization"] = f"Bearer {token}"
    return event


def api_event(name: str, caller: Caller | None, *, ids: dict[str, str] | None = None, body: Any = ...,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The API sample with its ids replaced everywhere (path, proxy, context path, body, query), the caller's token
    in the headers and the authorizer's verdict for it in requestContext.authorizer, as API Gateway sends it."""
    text = (EVENTS / name).read_text()
    for sample_id, real in (ids or {}).items():
        text = text.replace(sample_id, real)
    event = json.loads(text)
    assert name in EXERCISED
    if caller is not None:
        event["headers"]["Authorization"] = f"Bearer {caller.api.token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {caller.api.token}"]
        event["requestContext"]["authorizer"] = caller.authorizer
    for key, value in (headers or {}).items():
        event["headers"][key] = value
        event["multiValueHeaders"][key] = [value]
    if body is not ...:
        event["body"] = json.dumps(body) if body is not None else None
    return event


@dataclass
class Http:
    status: int
    body: Any
    headers: dict[str, str]


def call_api(functions: Functions, event: dict[str, Any]) -> Http:
    proxy = functions.invoke("ApiFunction", event).ok()
    assert "statusCode" in proxy and "body" in proxy, proxy
    headers = {k.lower(): str(v) for k, v in (proxy.get("headers") or {}).items()}
    for key, values in (proxy.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    text = proxy.get("body") or ""
    body = json.loads(text) if headers.get("content-type", "").startswith("application/json") and text else text
    return Http(int(proxy["statusCode"]), body, headers)


# ---------------------------------------------------------------------------------------------------------------
# A tenant with deployments in the states the samples need
# ---------------------------------------------------------------------------------------------------------------

def unique_intent(name: str, *, count: int = 2, auto_approve: bool = True) -> dict[str, Any]:
    stem = "e" + uuid.uuid4().hex[:10]
    return {"name": name, "description": "sample event tests", "target_providers": ["aws"], "environment": "staging",
            "auto_approve": auto_approve,
            "resources": [{"resource_type": "storage", "provider": "aws", "region": "us-east-1",
                           "name": f"{stem}-{i}", "properties": {"versioning": True}, "tags": {"team": "events"}}
                          for i in range(count)]}


@dataclass
class World:
    tenant: str
    admin: Caller
    operator: Caller
    deployments: dict[str, dict[str, Any]]  # role in the tests -> deployment (as created)

    def id(self, key: str) -> str:
        return self.deployments[key]["id"]


# Deployments prepared up front (in parallel): key -> (auto_approve, the status to wait for).
PREPARED = {
    "completed": (True, "completed"), "console": (True, "completed"), "rollback": (True, "completed"),
    "scanned": (True, "completed"),
    "approve": (False, "awaiting_approval"), "reject": (False, "awaiting_approval"),
    "cancel": (False, "awaiting_approval"), "execute": (False, "awaiting_approval"),
    "waiting": (False, "awaiting_approval"), "replan": (False, "awaiting_approval"),
    "cancelled": (False, "awaiting_approval"),
    "driven": (False, "awaiting_approval"), "failing": (False, "awaiting_approval"),
    "expiring": (False, "awaiting_approval"),
}
DETACHED = ("driven", "failing", "expiring")


def wait_all(api: Api, wanted: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        reply = api.call("GET", "/api/v1/deployments?limit=200")
        assert reply.status == 200, reply.body
        seen = {d["id"]: d["status"] for d in reply.body["items"]}
        late = {i: seen.get(i) for i, w in wanted.items() if seen.get(i) != w}
        if not late:
            return
        assert time.monotonic() < deadline, f"not there after {timeout}s: {late}"
        time.sleep(0.1)


def stop_execution(cloud, deployment: dict[str, Any]) -> None:
    cloud.emulator.client("stepfunctions").stop_execution(executionArn=deployment["execution_arn"],
                                                          cause="the test plays the state machine")


def wait_execution_ended(cloud, deployment: dict[str, Any], timeout: float = 20) -> str:
    sfn, deadline = cloud.emulator.client("stepfunctions"), time.monotonic() + timeout
    while (status := sfn.describe_execution(executionArn=deployment["execution_arn"])["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "the execution is still running"
        time.sleep(0.05)
    return status


@pytest.fixture(scope="module")
def functions(local_cloud) -> Functions:
    return Functions(local_cloud)


@pytest.fixture(scope="module")
def world(local_cloud, functions: Functions) -> World:
    tenant = f"events-{uuid.uuid4().hex[:10]}"
    root = Api(local_cloud).login(**local_cloud.admin_credentials())
    callers = {}
    for role in ("admin", "operator"):
        api = root.create_user(role, tenant)
        me = api.call("GET", "/api/v1/auth/me").body
        verdict = functions.sample("authorizer.json", authorizer_event(api.token)).ok()
        callers[role] = Caller(api, me["username"], role, {"principalId": verdict["principalId"],
                                                           **verdict["context"]})
    operator = callers["operator"].api
    with ThreadPoolExecutor(8) as pool:
        futures = {key: pool.submit(operator.deploy, unique_intent(key, auto_approve=auto))
                   for key, (auto, _) in PREPARED.items()}
        deployments = {key: future.result() for key, future in futures.items()}
    wait_all(operator, {deployments[k]["id"]: status for k, (_, status) in PREPARED.items()})
    for key in DETACHED:
        stop_execution(local_cloud, deployments[key])
    assert operator.call("POST", f"/api/v1/deployments/{deployments['replan']['id']}/reject",
                         {"reason": "to re-plan"}).status == 200
    assert operator.call("POST", f"/api/v1/deployments/{deployments['cancelled']['id']}/cancel").status == 200
    return World(tenant, callers["admin"], callers["operator"], deployments)


# ---------------------------------------------------------------------------------------------------------------
# The samples are complete
# ---------------------------------------------------------------------------------------------------------------

def test_every_sample_event_is_exercised_by_a_test():
    on_disk = {p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json")}
    assert on_disk, "no samples found"
    assert sorted(on_disk - set(EXERCISED)) == [], "samples without a test"
    assert sorted(set(EXERCISED) - on_disk) == []


def test_every_function_of_the_template_has_a_sample_event(local_cloud):
    covered = {function_for(name) for name in EXERCISED}
    assert set(local_cloud.deployed.function_names) <= covered


@pytest.mark.parametrize("name", sorted(p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json")))
def test_every_sample_event_is_valid_json_for_its_function(name: str):
    event = json.loads((EVENTS / name).read_text())
    assert isinstance(event, dict) and event
    if name.startswith("api/"):
        assert {"httpMethod", "path", "headers", "requestContext", "body"} <= set(event)
    elif function_for(name) == "NotifyFunction":  # an EventBridge event carrying a domain event
        assert {"detail-type", "source", "detail"} <= set(event)
        assert {"deployment_id", "tenant_id", "status"} <= set(event["detail"])
    elif function_for(name) not in ("AuthorizerFunction", "DriftScannerFunction", "MigrateFunction",
                                    "ReconcileFunction"):
        assert {"deployment_id", "tenant_id", "correlation_id"} <= set(event)


# ---------------------------------------------------------------------------------------------------------------
# Authorizer
# ---------------------------------------------------------------------------------------------------------------

@exercises("authorizer.json")
def test_authorizer_sample_allows_a_real_token_and_passes_the_caller_on(world: World, functions: Functions):
    caller = world.operator
    policy = functions.sample("authorizer.json", authorizer_event(caller.api.token)).ok()
    me = caller.api.call("GET", "/api/v1/auth/me").body
    assert policy["principalId"] == me["id"]
    context = policy["context"]
    assert {k: context[k] for k in ("user_id", "username", "role", "tenant_id", "token_kind")} == {
        "user_id": me["id"], "username": caller.username, "role": "operator", "tenant_id": world.tenant,
        "token_kind": "session"}
    assert context["token_id"] and int(context["token_expires_at"]) > time.time()
    statements = policy["policyDocument"]["Statement"]
    assert [s["Effect"] for s in statements] == ["Allow"]
    assert statements[0]["Action"] == "execute-api:Invoke"
    # Every route of the sample's API and stage (the token, not the route, is what the authorizer judges).
    assert statements[0]["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*"]


@pytest.mark.parametrize("token", [pytest.param("<token>", id="sample-as-shipped"), pytest.param("x.y.z", id="garbage"),
                                   pytest.param(None, id="no-header")])
def test_authorizer_sample_refuses_a_bad_token_with_unauthorized(token: str | None, functions: Functions):
    refused = functions.sample("authorizer.json", authorizer_event(token))
    assert refused.error == "Unauthorized" and refused.payload["errorMessage"] == "Unauthorized", refused


# ---------------------------------------------------------------------------------------------------------------
# Workflow tasks
# ---------------------------------------------------------------------------------------------------------------

def task_event(name: str, deployment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    event = sample(name)
    event.update(deployment_id=deployment["id"], tenant_id=deployment["tenant_id"],
                 correlation_id=f"test-{name.removesuffix('.json')}", **changes)
    return event


@pytest.mark.parametrize("name", TASK_SAMPLES)
def test_task_sample_as_shipped_names_no_deployment_and_fails_with_not_found(name: str, functions: Functions):
    result = functions.sample(name)
    assert result.error == "NotFound" and SAMPLE_DEPLOYMENT in result.payload["errorMessage"], result


@exercises("plan.json", "finalize_executing.json", "apply_step.json", "verify.json", "finalize_completed.json",
           "finalize_rolling_back.json", "destroy_step.json", "finalize_rolled_back.json")
def test_task_samples_take_a_deployment_from_its_plan_to_completed_and_back_to_rolled_back(
        local_cloud, world: World, functions: Functions):
    api, deployment = world.operator.api, world.deployments["driven"]
    stored = api.get(deployment["id"])
    # A retried PlanDeployment returns the stored plan instead of planning again.
    planned = functions.sample("plan.json", task_event("plan.json", deployment)).ok()
    assert planned["plan_id"] == stored["plan"]["plan_id"] and planned["blocked"] is False
    assert planned["requires_approval"] is True and planned["rollback_on_failure"] is True
    # A small rolling plan: one segment, one stage per wave, one step per batch (the state carries batch numbers,
    # never step ids); the other segments are empty.
    assert planned["route"] == "rollout" and planned["no_changes"] is False
    stages = planned["segments"]["rest"]["stages"]
    assert len(stages) == stored["plan"]["wave_count"] and planned["max_concurrency"] >= 1
    assert all(planned["segments"][name]["stages"] == [] for name in ("canary", "green", "switch", "retire"))
    # A person approves; the stopped execution ignores it, so nothing runs but what this test invokes.
    assert api.call("POST", f"/api/v1/deployments/{deployment['id']}/approve").status == 200
    assert wait_execution_ended(local_cloud, deployment) == "ABORTED"

    def run(name: str, **changes: Any) -> Any:
        return functions.sample(name, task_event(name, deployment, **changes)).ok()

    assert run("finalize_executing.json") == {"status": "executing", "wait_until": None}
    batches = [batch for stage in stages for batch in stage]
    assert len(batches) == 2
    for batch in batches:
        assert run("apply_step.json", batch=batch) == {"batch": batch, "steps": 1, "ran": 1}
    assert run("apply_step.json", batch=batches[0]) == {"batch": batches[0], "steps": 1, "ran": 0}  # redelivered
    assert len(api.resources(deployment["id"])) == 2
    assert run("verify.json") == {"resources_checked": 2}
    assert run("finalize_completed.json") == {"status": "completed"}
    assert run("finalize_completed.json") == {"status": "completed"}  # a repeat records nothing more
    done = api.get(deployment["id"])
    assert done["status"] == "completed" and done["progress_percentage"] == 100.0
    assert [e["type"] for e in api.events(deployment["id"])] == [
        "created", "planning_started", "plan_generated", "approval_requested", "approved", "execution_started",
        "step_succeeded", "step_succeeded", "verification_started", "verified", "completed"]

    rollback = run("finalize_rolling_back.json")
    assert sorted(b for stage in rollback["stages"] for b in stage) == [0, 1] and rollback["max_concurrency"] >= 1
    assert api.get(deployment["id"])["error_message"] == "ApplyFailed: boom"
    for stage in rollback["stages"]:
        for batch in stage:
            assert run("destroy_step.json", batch=batch) == {"batch": batch, "steps": 1, "ran": 1}
    assert api.resources(deployment["id"]) == []
    assert run("finalize_rolled_back.json") == {"status": "rolled_back"}
    undone = api.get(deployment["id"])
    assert undone["status"] == "rolled_back" and undone["steps"]["rolled_back"] == undone["steps"]["total"] == 2
    assert all(s["rolled_back"] for s in api.steps(deployment["id"]))


@exercises("finalize_failed.json")
def test_finalize_failed_sample_records_the_failure_with_the_functions_error_message(
        local_cloud, world: World, functions: Functions):
    api, deployment = world.operator.api, world.deployments["failing"]
    assert api.call("POST", f"/api/v1/deployments/{deployment['id']}/approve").status == 200
    assert wait_execution_ended(local_cloud, deployment) == "ABORTED"
    assert functions.sample("finalize_executing.json", task_event("finalize_executing.json", deployment)).ok() == {
        "status": "executing", "wait_until": None}
    assert functions.sample("finalize_failed.json", task_event("finalize_failed.json", deployment)).ok() == {
        "status": "failed"}
    failed = api.get(deployment["id"])
    assert failed["status"] == "failed"
    assert failed["error_message"] == "ApplyFailed: simulated apply failure (attempt 3 of 'always')"
    assert api.events(deployment["id"])[-1]["type"] == "failed"


@exercises("finalize_approval_expired.json")
def test_finalize_approval_expired_sample_cancels_a_deployment_still_waiting(world: World, functions: Functions):
    api, deployment = world.operator.api, world.deployments["expiring"]
    assert api.get(deployment["id"])["status"] == "awaiting_approval"
    name = "finalize_approval_expired.json"
    assert functions.sample(name, task_event(name, deployment)).ok() == {"status": "cancelled"}
    expired = api.get(deployment["id"])
    assert expired["status"] == "cancelled" and expired["error_message"] == "approval expired - States.Timeout"
    assert functions.sample(name, task_event(name, deployment)).ok() == {"status": "cancelled"}  # a repeat


@exercises("request_approval.json")
def test_request_approval_sample_with_the_real_task_token_keeps_waiting_and_approval_still_completes(
        world: World, functions: Functions):
    from orchestrator.wiring import services

    api, deployment = world.operator.api, world.deployments["waiting"]
    token = services().deployments.approval_token(deployment["id"])
    assert token, "the workflow stored no task token"
    before = api.events(deployment["id"])
    event = task_event("request_approval.json", deployment, task_token=token,
                       plan_id=api.get(deployment["id"])["plan"]["plan_id"])
    assert functions.sample("request_approval.json", event).ok() == {"status": "awaiting_approval"}
    assert api.events(deployment["id"]) == before  # a redelivery records no second request
    assert services().deployments.approval_token(deployment["id"]) == token
    assert api.call("POST", f"/api/v1/deployments/{deployment['id']}/approve").status == 200
    assert api.wait_for(deployment["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"


@pytest.mark.parametrize(("name", "state"), [
    ("plan.json", "cancelled"),
    ("request_approval.json", "completed"),
    ("apply_step.json", "cancelled"),
    ("verify.json", "completed"),
    ("finalize_executing.json", "cancelled"),
])
def test_task_sample_on_a_deployment_in_the_wrong_state_raises_cancelled_for_the_state_machine(
        name: str, state: str, world: World, functions: Functions):
    deployment = world.deployments[state]
    api = world.operator.api
    assert api.get(deployment["id"])["status"] == state
    changes = {"batch": 0} if name == "apply_step.json" else {}
    result = functions.sample(name, task_event(name, deployment, **changes))
    assert result.error == "Cancelled", result  # the name the state machine's Catch routes on
    assert api.get(deployment["id"])["status"] == state
    if name == "apply_step.json":
        assert api.resources(deployment["id"]) == []


# ---------------------------------------------------------------------------------------------------------------
# Drift scanner and migrations
# ---------------------------------------------------------------------------------------------------------------

@exercises("drift_scanner.json")
def test_drift_scanner_sample_scans_completed_deployments_and_names_the_drifted_reports(
        world: World, functions: Functions):
    api, deployment = world.operator.api, world.deployments["scanned"]
    gone = api.resources(deployment["id"])[0]
    assert api.call("DELETE", f"/api/v1/cloud/resources/{gone['id']}").status == 204
    summary = functions.sample("drift_scanner.json").ok()
    assert set(summary) == {"deployments_scanned", "drift_items", "reports_with_drift"}
    assert summary["deployments_scanned"] >= 1 and summary["drift_items"] >= 1
    reports = api.call("GET", f"/api/v1/drift/reports?deployment_id={deployment['id']}").body["items"]
    ours = [r for r in reports if r["id"] in summary["reports_with_drift"]]
    assert len(ours) == 1 and ours[0]["scan_type"] == "scheduled"
    assert [(i["drift_type"], i["resource_identifier"]) for i in ours[0]["items"]] == [
        ("resource_removed", gone["resource_identifier"])]


@exercises("reconcile.json")
def test_reconcile_sample_lists_the_deployments_it_recovered(world: World, functions: Functions):
    summary = functions.sample("reconcile.json").ok()
    # Every deployment of the world still has its execution (or is settled): nothing to recover.
    assert set(summary) == {"deployments_settled"}
    assert not set(summary["deployments_settled"]) & {d["id"] for d in world.deployments.values()}


@exercises("notify.json")
def test_notify_sample_delivers_to_the_tenants_destination(world: World, functions: Functions):
    received: list[dict[str, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base class's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        created = world.admin.api.call("POST", "/api/v1/notifications", {
            "name": "sample", "url": f"http://127.0.0.1:{server.server_address[1]}/", "events": ["completed"]})
        assert created.status == 201, created.body
        event = sample("notify.json")
        event["detail"]["tenant_id"] = world.tenant
        assert functions.sample("notify.json", event).ok() == {"deliveries": 1, "failed": 0}
        assert [h["X-Orchestrator-Event"] for h in received] == ["completed"]
        other = {**event, "detail": {**event["detail"], "tenant_id": "t-nobody"}}
        assert functions.sample("notify.json", other).ok() == {"deliveries": 0, "failed": 0}
    finally:
        server.shutdown()
        server.server_close()


class _CloudFormation(BaseHTTPRequestHandler):
    """Stands in for CloudFormation's pre-signed S3 response URL: records each PUT."""

    received: list[dict[str, Any]]

    def do_PUT(self) -> None:  # noqa: N802 - the base class's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                              "body": json.loads(self.rfile.read(length))})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's naming
        pass


@pytest.fixture
def cloudformation():
    received: list[dict[str, Any]] = []
    handler = type("Recorder", (_CloudFormation,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@exercises("migrate.json")
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_migrate_sample_reports_success_to_cloudformation_and_applies_nothing_on_an_up_to_date_database(
        request_type: str, cloudformation, functions: Functions):
    url, received = cloudformation
    event = sample("migrate.json")
    event["RequestType"] = request_type
    event["ResponseURL"] = f"{url}/response/{uuid.uuid4().hex}"
    result = functions.sample("migrate.json", event).ok()
    if request_type == "Delete":  # the database outlives the stack: nothing to do
        assert result == {"status": "SUCCESS"}
    else:
        assert result == {"status": "SUCCESS", "migrations_applied": [], "bootstrap_admin_created": False}
    assert len(received) == 1
    put = received[0]
    assert put["path"] == event["ResponseURL"].removeprefix(url)
    assert not put["content_type"]  # a pre-signed S3 URL refuses any content type it was not signed with
    assert put["body"] == {"Status": "SUCCESS", "Reason": "ok", "PhysicalResourceId": "database-migrations",
                           "StackId": event["StackId"], "RequestId": event["RequestId"],
                           "LogicalResourceId": event["LogicalResourceId"], "Data": {"MigrationsApplied": 0}}


# ---------------------------------------------------------------------------------------------------------------
# API samples
# ---------------------------------------------------------------------------------------------------------------

@exercises("api/health.json", "api/health_ready.json", "api/openapi.json")
def test_public_api_samples_answer_without_a_caller(functions: Functions):
    health = call_api(functions, api_event("api/health.json", None))
    assert (health.status, health.body) == (200, {"status": "ok"})
    ready = call_api(functions, api_event("api/health_ready.json", None))
    assert ready.status == 200 and ready.body["status"] == "ok"
    assert {name: check["status"] for name, check in ready.body["checks"].items()} == {
        "postgresql": "ok", "redis": "ok", "stepfunctions": "ok"}
    document = call_api(functions, api_event("api/openapi.json", None))
    assert document.status == 200 and "/api/v1/deployments" in document.body["paths"]
    # Called on API Gateway's own endpoint (https://{id}.execute-api.../dev/openapi.json): the stage is the base.
    assert document.body["servers"] == [{"url": "/dev"}]


@exercises("api/auth_login.json", "api/auth_me.json")
def test_login_and_me_samples_issue_a_token_and_describe_its_holder(local_cloud, world: World, functions: Functions):
    creds = local_cloud.admin_credentials()
    login = call_api(functions, api_event("api/auth_login.json", None, body=creds))
    assert login.status == 200 and login.body["token_type"] == "bearer" and login.body["expires_in"] > 0
    assert functions.sample("authorizer.json", authorizer_event(login.body["access_token"])).ok()["context"][
        "username"] == creds["username"]
    me = call_api(functions, api_event("api/auth_me.json", world.operator))
    assert me.status == 200
    assert (me.body["username"], me.body["role"], me.body["tenant_id"]) == (world.operator.username, "operator",
                                                                            world.tenant)


@exercises("api/auth_register.json")
def test_register_sample_is_forbidden_to_an_operator_and_creates_a_user_for_an_admin(
        world: World, functions: Functions):
    body = json.loads(sample("api/auth_register.json")["body"])
    body["username"] = f"dora-{uuid.uuid4().hex[:8]}"
    refused = call_api(functions, api_event("api/auth_register.json", world.operator, body=body))
    assert refused.status == 403 and refused.body["code"] == "forbidden"
    created = call_api(functions, api_event("api/auth_register.json", world.admin, body=body))
    assert created.status == 201, created.body
    assert (created.body["username"], created.body["role"], created.body["tenant_id"]) == (
        body["username"], "deployer", world.tenant)


@exercises("api/deployments_create.json", "api/deployments_list.json")
def test_create_sample_starts_a_deployment_once_per_idempotency_key_and_list_sample_filters_by_status(
        world: World, functions: Functions):
    key = {"Idempotency-Key": f"c0ffee-{uuid.uuid4().hex}"}
    first = call_api(functions, api_event("api/deployments_create.json", world.operator, headers=key))
    assert first.status == 201, first.body
    assert (first.body["name"], first.body["resource_count"], first.body["tenant_id"]) == ("checkout-web", 3,
                                                                                           world.tenant)
    again = call_api(functions, api_event("api/deployments_create.json", world.operator, headers=key))
    assert again.status == 201 and again.body["id"] == first.body["id"]

    listed = call_api(functions, api_event("api/deployments_list.json", world.operator))
    assert listed.status == 200 and (listed.body["limit"], listed.body["offset"]) == (20, 0)
    assert listed.body["items"] and {d["status"] for d in listed.body["items"]} == {"completed"}
    assert {d["tenant_id"] for d in listed.body["items"]} == {world.tenant}
    assert world.id("completed") in {d["id"] for d in listed.body["items"]}


@exercises("api/deployments_get.json", "api/deployments_events.json", "api/deployments_terraform.json",
           "api/deployments_steps.json")
def test_read_samples_return_a_real_deployment_and_404_for_the_samples_own_id(world: World, functions: Functions):
    ids = {SAMPLE_DEPLOYMENT: world.id("completed")}
    got = call_api(functions, api_event("api/deployments_get.json", world.operator, ids=ids))
    assert got.status == 200 and got.body["id"] == world.id("completed") and got.body["status"] == "completed"
    assert got.body["plan"]["step_count"] == 2 and "approval_task_token" not in json.dumps(got.body)
    # Called on API Gateway's own endpoint (stage "dev"), the links keep the stage, as Location does.
    assert got.body["links"]["steps"] == f"/dev/api/v1/deployments/{world.id('completed')}/steps"
    steps = call_api(functions, api_event("api/deployments_steps.json", world.operator, ids=ids))
    assert steps.status == 200 and [s["status"] for s in steps.body["items"]] == ["succeeded"]
    assert steps.body["items"][0]["step_id"] == "s1" and steps.body["next_cursor"]
    events = call_api(functions, api_event("api/deployments_events.json", world.operator, ids=ids))
    assert events.status == 200
    types = [e["type"] for e in events.body["items"]]
    assert types[0] == "created" and types[-1] == "completed"
    terraform = call_api(functions, api_event("api/deployments_terraform.json", world.operator, ids=ids))
    assert terraform.status == 200 and list(terraform.body) == ["aws"]
    for name in ("api/deployments_get.json", "api/deployments_events.json", "api/deployments_terraform.json",
                 "api/deployments_steps.json"):
        unknown = call_api(functions, api_event(name, world.operator))  # the sample's id exists nowhere
        assert unknown.status == 404 and unknown.body["code"] == "not_found", (name, unknown.body)


@exercises("api/deployments_approve.json", "api/deployments_reject.json", "api/deployments_cancel.json",
           "api/deployments_execute.json")
@pytest.mark.parametrize(("decision", "expected"), [("approve", "approved"), ("reject", "rejected"),
                                                    ("cancel", "cancelled"), ("execute", "approved")])
def test_decision_samples_act_on_a_real_deployment_awaiting_approval(decision: str, expected: str, world: World,
                                                                     functions: Functions):
    target = world.id(decision)
    reply = call_api(functions, api_event(f"api/deployments_{decision}.json", world.operator,
                                          ids={SAMPLE_DEPLOYMENT: target}))
    assert reply.status == 200 and reply.body["id"] == target and reply.body["status"] == expected, reply.body
    if decision == "approve":
        assert reply.body["approval"]["comment"] == "reviewed the plan"
    if decision == "reject":
        assert reply.body["error_message"].endswith("cost too high")
    again = call_api(functions, api_event(f"api/deployments_{decision}.json", world.operator,
                                          ids={SAMPLE_DEPLOYMENT: target}))
    if decision == "execute" and again.status == 200:  # execute reports a run still going on
        assert again.body["status"] in {"approved", "executing", "verifying"}, again.body
    else:  # the decision is taken (or the run is over): deciding again is an illegal transition
        assert again.status == 409 and again.body["code"] == "action_not_allowed", again.body
        assert again.body["details"]["action"] == decision


@exercises("api/deployments_plan.json", "api/deployments_rollback.json")
def test_replan_and_rollback_samples_restart_the_workflow_of_a_real_deployment(world: World, functions: Functions):
    replanned = call_api(functions, api_event("api/deployments_plan.json", world.operator,
                                              ids={SAMPLE_DEPLOYMENT: world.id("replan")}))
    assert replanned.status == 200 and replanned.body["status"] == "pending", replanned.body
    rolling = call_api(functions, api_event("api/deployments_rollback.json", world.operator,
                                            ids={SAMPLE_DEPLOYMENT: world.id("rollback")}))
    assert rolling.status == 200 and rolling.body["status"] == "rolling_back", rolling.body
    api = world.operator.api
    assert api.wait_for(world.id("replan"), "awaiting_approval")["status"] == "awaiting_approval"
    assert api.wait_for(world.id("rollback"), {"rolled_back", "failed"})["status"] == "rolled_back"
    assert api.resources(world.id("rollback")) == []


@exercises("api/cloud_resources.json", "api/cloud_get.json", "api/cloud_patch.json", "api/cloud_delete.json",
           "api/drift_scan.json", "api/drift_reports.json", "api/drift_remediate.json")
def test_console_and_drift_samples_change_the_cloud_then_report_and_remediate_the_drift(
        world: World, functions: Functions):
    target = world.id("console")
    listed = call_api(functions, api_event("api/cloud_resources.json", world.operator,
                                           ids={SAMPLE_DEPLOYMENT: target}))
    assert listed.status == 200 and len(listed.body["items"]) == 2
    changed, removed = sorted(listed.body["items"], key=lambda r: r["name"])

    patched = call_api(functions, api_event("api/cloud_patch.json", world.operator,
                                            ids={SAMPLE_RESOURCE: changed["id"]}))
    assert patched.status == 200, patched.body
    assert patched.body["properties"]["public_access"] is True and patched.body["tags"] == {"team": "someone-else"}
    shown = call_api(functions, api_event("api/cloud_get.json", world.operator, ids={SAMPLE_RESOURCE: changed["id"]}))
    assert shown.status == 200, shown.body
    assert shown.body == {**patched.body, "standby": None}
    deleted = call_api(functions, api_event("api/cloud_delete.json", world.operator,
                                            ids={SAMPLE_RESOURCE: removed["id"]}))
    assert deleted.status == 204 and deleted.body == ""

    scanned = call_api(functions, api_event("api/drift_scan.json", world.operator, ids={SAMPLE_DEPLOYMENT: target}))
    assert scanned.status == 200 and scanned.body["has_drift"] is True, scanned.body
    assert {(i["drift_type"], i["resource_identifier"]) for i in scanned.body["items"]} == {
        ("property_changed", changed["resource_identifier"]), ("tag_changed", changed["resource_identifier"]),
        ("resource_removed", removed["resource_identifier"])}
    reports = call_api(functions, api_event("api/drift_reports.json", world.operator, ids={SAMPLE_DEPLOYMENT: target}))
    assert reports.status == 200 and {r["deployment_id"] for r in reports.body["items"]} == {target}
    assert [r for r in reports.body["items"] if r["has_drift"]] == [scanned.body]

    remediation = call_api(functions, api_event("api/drift_remediate.json", world.operator,
                                                ids={SAMPLE_REPORT: scanned.body["id"]}))
    assert remediation.status == 201 and remediation.body["status"] == "pending", remediation.body
    fix = world.operator.api.wait_for(remediation.body["id"], "awaiting_approval")
    assert fix["tenant_id"] == world.tenant
    unknown = call_api(functions, api_event("api/drift_remediate.json", world.operator))
    assert unknown.status == 404
