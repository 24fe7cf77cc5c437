"""The console page (console/) in headless Chromium, against the real local cloud served by its HTTP server.

Needs Debian's Chromium (`apt-get install -y chromium chromium-driver`) and the `playwright` Python package (the
dev extra); Playwright's own browser download is not used. Without them these tests fail: CI installs both.
CHROMIUM_PATH overrides /usr/bin/chromium. Screenshots go to CONSOLE_SCREENSHOTS (default /tmp).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from api_client import Api, intent
from deployments_at_scale import stored_deployment

from orchestrator.adapters.postgres.pool import Database

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", "/tmp"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN_KEY = "orchestrator-console.token"  # console/js/api.js
PASSWORD = "correct-horse-battery"
WAIT_MS = 20_000

# Where each kind of deployment's path goes through the lifecycle (statemachines/deployment_lifecycle.asl.json).
COMPLETED_PATH = ["ChooseMode", "PlanDeployment", "RouteAfterPlan", "BeginExecution", "FrozenUntil", "Rollout",
                  "ExecuteWaves", "ApplyStage", "ApplyBatch", "AfterPhase", "VerifyDeployment", "MarkCompleted",
                  "DeploymentCompleted"]
NOT_ON_COMPLETED_PATH = ["WaitForApproval", "PlanBlockedByPolicy", "NothingToChange", "CanaryPhase", "GreenPhase",
                         "VerifyPhase", "Bake", "SwitchTraffic", "RestPhase", "RetireBlue", "ShouldRollBack",
                         "StartRollback", "RollBackAppliedSteps", "MarkFailed", "DeploymentFailed",
                         "DeploymentRolledBack"]
ASL_FILE = Path(__file__).resolve().parents[2] / "statemachines/deployment_lifecycle.asl.json"


def asl_edges() -> set[tuple[str, str]]:
    """Every transition of the lifecycle's top-level states: Next, Choices, Default and Catch."""
    edges = set()
    for name, state in json.loads(ASL_FILE.read_text())["States"].items():
        targets = [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", [])),
                   *(c["Next"] for c in state.get("Catch", []))]
        edges |= {(name, target) for target in targets if target}
    return edges


def taken_edges(page) -> list[str]:
    return page.eval_on_selector_all("#graph .edge--taken",
                                     "paths => paths.map(p => p.dataset.from + '>' + p.dataset.to)")

class Chromium:
    """Debian's Chromium driven by Playwright, launched on first use so a missing browser fails the test itself."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._playwright = self._browser = None
        self.errors: list[str] = []

    def _launch(self):
        if not Path(CHROMIUM).is_file():
            pytest.fail(f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's Chromium. "
                        "Install it with: apt-get update && apt-get install -y chromium chromium-driver "
                        "(or set CHROMIUM_PATH).", pytrace=False)
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            pytest.fail("The Python package `playwright` is missing: pip install -e '.[dev]'", pytrace=False)
        self._playwright = sync_playwright().start()
        try:
            # Playwright gives the browser a new, empty profile (--user-data-dir) of its own.
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                             args=CHROMIUM_FLAGS)
        except Exception as exc:  # noqa: BLE001 - reported as a test failure with the reason
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)

    def page(self, token: str | None = None):
        """A page in a fresh context (its own sessionStorage), signed in with `token` when given."""
        if self._browser is None:
            self._launch()
        context = self._browser.new_context(viewport={"width": 1440, "height": 1000})
        context.set_default_timeout(WAIT_MS)
        if token:
            context.add_init_script(f"sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(token)})")
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        # A missing /favicon.ico (Swagger UI's page has none) is the browser's guess, not the page's error.
        page.on("console", lambda msg: msg.type == "error" and not msg.location.get("url", "").endswith(
            "/favicon.ico") and self.errors.append(f"console error: {msg.text}"))
        return page

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture(scope="module")
def chromium(local_cloud):
    browser = Chromium(local_cloud.api_url)
    yield browser
    browser.close()


@pytest.fixture
def browser(chromium: Chromium):
    chromium.errors.clear()
    yield chromium
    assert chromium.errors == [], "the page logged errors"


def user(admin: Api, role: str, tenant: str) -> tuple[str, Api]:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    reply = admin.call("POST", "/api/v1/auth/register", {"username": username, "email": f"{username}@example.com",
                                                         "password": PASSWORD, "role": role, "tenant_id": tenant})
    assert reply.status == 201, reply.body
    return username, admin.login(username, PASSWORD)


def state_status(page, state: str) -> str | None:
    return page.get_attribute(f'#graph .state[data-state="{state}"]', "data-status")


def wait_for_state(page, state: str, status: str) -> None:
    page.wait_for_selector(f'#graph .state[data-state="{state}"][data-status="{status}"]')


def open_deployment(browser: Chromium, token: str, deployment_id: str):
    page = browser.page(token)
    page.goto(f"{browser.base_url}/console/#/deployments/{deployment_id}")
    page.wait_for_selector("#graph svg .state")
    return page


def test_completed_deployment_draws_the_lifecycle_with_its_path_done(browser: Chromium, admin: Api, tenant: str):
    username, operator = user(admin, "operator", tenant)
    created = operator.deploy(intent("web-shop"))
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})
    assert done["status"] == "completed", done

    page = browser.page()
    page.goto(f"{browser.base_url}/console")  # redirected to /console/
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    assert page.text_content("#current-role") == "operator"
    row = page.wait_for_selector(f'#deployments tr[data-id="{created["id"]}"]')
    assert row.query_selector('.badge[data-status="completed"]') is not None
    row.click()

    wait_for_state(page, "DeploymentCompleted", "done")
    statuses = {state: state_status(page, state) for state in COMPLETED_PATH + NOT_ON_COMPLETED_PATH}
    assert {s: statuses[s] for s in COMPLETED_PATH} == dict.fromkeys(COMPLETED_PATH, "done"), statuses
    assert {s: statuses[s] for s in NOT_ON_COMPLETED_PATH} == dict.fromkeys(NOT_ON_COMPLETED_PATH, "not-reached")
    # Every top-level state of the ASL file is drawn, the Map's processors inside their Map.
    asl = json.loads(ASL_FILE.read_text())
    drawn = page.eval_on_selector_all("#graph .states > .state", "nodes => nodes.map(n => n.dataset.state)")
    assert sorted(drawn) == sorted(asl["States"])
    assert page.locator('#graph .state[data-state="ExecuteWaves"] .state[data-state="ApplyStage"] '
                        '.state[data-state="ApplyBatch"]').count() == 1
    taken = taken_edges(page)
    assert {"FrozenUntil>Rollout", "Rollout>ExecuteWaves", "ExecuteWaves>AfterPhase", "AfterPhase>VerifyDeployment",
            "MarkCompleted>DeploymentCompleted"} <= set(taken), taken
    assert "FrozenUntil>CanaryPhase" not in taken and "AfterPhase>VerifyPhase" not in taken
    assert "ShouldRollBack>MarkFailed" not in taken
    assert page.locator(".legend__item").count() >= 6

    # Step results, plan summary and audit trail.
    assert page.locator('#step-results tr[data-step][data-status="succeeded"]').count() == 3
    assert "$" in page.text_content("#plan") and "Waves" in page.text_content("#plan")
    assert page.locator("#audit .timeline__item").count() == len(operator.events(created["id"]))
    assert page.text_content("#live-note").startswith("Final state")
    assert page.locator("#approve-button").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "console-completed.png"), full_page=True)
    page.context.close()


def test_approve_moves_an_awaiting_deployment_on(browser: Chromium, admin: Api, tenant: str):
    _, deployer = user(admin, "deployer", tenant)
    operator_name, operator = user(admin, "operator", tenant)
    created = deployer.deploy(intent("needs-approval", auto_approve=False))
    deployer.wait_for(created["id"], "awaiting_approval")

    page = open_deployment(browser, operator.token, created["id"])
    wait_for_state(page, "WaitForApproval", "waiting")
    assert state_status(page, "PlanDeployment") == "done"
    assert state_status(page, "BeginExecution") == "not-reached"
    assert page.text_content("#live-note").startswith("Live")
    page.screenshot(path=str(SCREENSHOTS / "console-awaiting-approval.png"), full_page=True)

    page.click("#approve-button")
    deadline = time.monotonic() + 20
    while operator.get(created["id"])["status"] == "awaiting_approval":
        assert time.monotonic() < deadline, "still awaiting approval after clicking Approve"
        time.sleep(0.1)
    assert operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"
    # The page follows on its own (it polls while the deployment runs).
    wait_for_state(page, "DeploymentCompleted", "done")
    assert state_status(page, "WaitForApproval") == "done"
    assert page.locator("#approve-button").count() == 0
    # The approval says what was decided, not only who decided.
    assert page.text_content("#approval-decision").startswith(f"approved by {operator_name}")
    page.context.close()


def test_reject_asks_for_a_reason(browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    created = operator.deploy(intent("to-reject", auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")

    page = open_deployment(browser, operator.token, created["id"])
    wait_for_state(page, "WaitForApproval", "waiting")
    page.click("#reject-button")
    page.wait_for_selector("#reject-dialog[open]")
    page.click("#reject-confirm")  # no reason: the dialog stays open
    assert page.is_visible("#reject-dialog")
    assert operator.get(created["id"])["status"] == "awaiting_approval"
    page.fill("#reject-reason", "costs too much")
    page.click("#reject-confirm")
    wait_for_state(page, "DeploymentRejected", "failed")
    page.wait_for_selector("#approval-decision[data-decision=rejected]")
    assert page.text_content("#approval-decision").startswith("rejected by ")
    rejected = operator.get(created["id"])
    assert rejected["status"] == "rejected" and rejected["error_message"].endswith("costs too much")
    page.context.close()


def test_viewer_sees_no_approve_button(browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    _, viewer = user(admin, "viewer", tenant)
    page = browser.page(viewer.token)
    page.goto(f"{browser.base_url}/console/#/deployments")
    page.wait_for_selector("#deployments tr.empty")  # a new tenant: nothing yet

    created = operator.deploy(intent("viewer-check", auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")
    # The list refreshes by itself; the row leads to the deployment.
    page.wait_for_selector(f'#deployments tr[data-id="{created["id"]}"] .badge[data-status="awaiting_approval"]')
    page.click(f'#deployments tr[data-id="{created["id"]}"] a')
    wait_for_state(page, "WaitForApproval", "waiting")
    page.wait_for_selector("#approval-note")
    assert page.text_content("#current-role") == "viewer"
    assert page.locator("#approve-button").count() == 0
    assert page.locator("#reject-button").count() == 0
    page.context.close()


# The mapping from audit events to state colours (console/js/progress.js), on event sequences the other tests do
# not produce; run in the page, as the console runs it.
SCENARIOS = {
    "step failure, rolled back": (
        {"status": "rolled_back"},
        [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
         ("plan_generated", "planning", "planned", {"plan_id": "p"}), ("approved", "planned", "approved", {}),
         ("execution_started", "approved", "executing", {}), ("step_failed", None, None, {"attempt": 1}),
         ("rollback_started", "executing", "rolling_back", {"cause": "ApplyFailed"}),
         ("rolled_back", "rolling_back", "rolled_back", {})],
        {"BeginExecution": "done", "ExecuteWaves": "failed", "ApplyBatch": "failed", "ShouldRollBack": "done",
         "StartRollback": "rolled-back", "RollBackAppliedSteps": "rolled-back", "UndoBatch": "rolled-back",
         "DeploymentRolledBack": "rolled-back", "RollbackCompleted": "not-reached", "MarkFailed": "not-reached"}),
    "step failure without rollback": (
        {"status": "failed"},
        [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
         ("plan_generated", "planning", "planned", {}), ("approved", "planned", "approved", {}),
         ("execution_started", "approved", "executing", {}), ("failed", "executing", "failed", {"error": "x"})],
        {"ExecuteWaves": "failed", "ShouldRollBack": "done", "MarkFailed": "done", "DeploymentFailed": "failed",
         "StartRollback": "not-reached"}),
    "blocked by policy": (
        {"status": "failed"},
        [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
         ("failed", "planning", "failed", {"plan_id": "p", "error": "blocked by policy: no"})],
        {"PlanDeployment": "done", "RouteAfterPlan": "done", "PlanBlockedByPolicy": "failed",
         "MarkFailed": "not-reached"}),
    "approval expired": (
        {"status": "cancelled"},
        [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
         ("plan_generated", "planning", "planned", {}), ("approval_requested", "planned", "awaiting_approval", {}),
         ("cancelled", "awaiting_approval", "cancelled", {"reason": "approval expired"})],
        {"WaitForApproval": "failed", "ExpireApproval": "done", "ApprovalExpired": "failed",
         "DeploymentCancelled": "not-reached"}),
    "requested rollback of a completed deployment": (
        {"status": "rolling_back"},
        [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
         ("plan_generated", "planning", "planned", {}), ("approved", "planned", "approved", {}),
         ("execution_started", "approved", "executing", {}), ("verification_started", "executing", "verifying", {}),
         ("verified", None, None, {}), ("completed", "verifying", "completed", {}),
         ("rollback_started", "completed", "rolling_back", {"reason": "requested"})],
        {"ChooseMode": "done", "StartRollback": "done", "RollBackAppliedSteps": "running",
         "PlanDeployment": "not-reached", "DeploymentCompleted": "not-reached"}),
    "rollback that failed": (
        {"status": "failed"},
        [("created", None, None, {}), ("execution_started", "approved", "executing", {}),
         ("verification_started", "executing", "verifying", {}),
         ("rollback_started", "verifying", "rolling_back", {}), ("failed", "rolling_back", "failed", {})],
        {"VerifyDeployment": "failed", "RollBackAppliedSteps": "failed", "MarkRollbackFailed": "done",
         "RollbackFailed": "failed", "DeploymentFailed": "not-reached"}),
    "re-planned after a rejection": (
        {"status": "planning"},
        [("created", None, None, {}), ("approval_requested", "planned", "awaiting_approval", {}),
         ("rejected", "awaiting_approval", "rejected", {"reason": "no"}),
         ("replan_requested", "rejected", "pending", {}), ("planning_started", "pending", "planning", {})],
        {"ChooseMode": "done", "PlanDeployment": "running", "WaitForApproval": "not-reached",
         "DeploymentRejected": "not-reached"}),
}

# Strategy runs: the plan's phases choose the route (FrozenUntil -> CanaryPhase | GreenPhase | Rollout).
STARTED = [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
           ("plan_generated", "planning", "planned", {"plan_id": "p"}), ("approved", "planned", "approved", {}),
           ("execution_started", "approved", "executing", {})]
CANARY = {"plan": {"phases": [{"name": "canary", "kind": "canary", "steps": 2, "bake_seconds": None},
                              {"name": "bake", "kind": "bake", "steps": 0, "bake_seconds": 8},
                              {"name": "rest", "kind": "rest", "steps": 5, "bake_seconds": None}]}}
BLUE_GREEN = {"plan": {"phases": [{"name": k, "kind": k, "steps": 2, "bake_seconds": 1 if k == "bake" else None}
                                  for k in ("green", "switch", "bake", "rest", "retire")]}}
ROLLING = {"plan": {"phases": [{"name": f"batch {i}/3", "kind": "batch", "steps": 2, "bake_seconds": None}
                               for i in (1, 2, 3)]}}


def step(action: str, event: str = "step_succeeded") -> tuple:
    return (event, None, None, {"action": action, "attempt": 1})


CANARY_BAKING = [*STARTED, step("create"), ("phase_verified", None, None, {"phase": "canary"}),
                 ("bake_started", None, None, {"phase": "canary", "bake_seconds": 8})]
CANARY_DONE = [*CANARY_BAKING, step("create"), ("verification_started", "executing", "verifying", {}),
               ("verified", None, None, {}), ("completed", "verifying", "completed", {})]
BLUE_GREEN_SWITCHED = [*STARTED, step("green"), ("phase_verified", None, None, {"phase": "green"}), step("switch"),
                       ("traffic_switched", None, None, {"action": "switch", "serving": "i-2", "previous": "i-1"}),
                       ("phase_verified", None, None, {"phase": "switch"}),
                       ("bake_started", None, None, {"phase": "switch", "bake_seconds": 1})]
BLUE_GREEN_DONE = [*BLUE_GREEN_SWITCHED, step("update"), step("retire"),
                   ("verification_started", "executing", "verifying", {}), ("verified", None, None, {}),
                   ("completed", "verifying", "completed", {})]
NO_CHANGES = [("created", None, None, {}), ("planning_started", "pending", "planning", {}),
              ("plan_generated", "planning", "planned", {"plan_id": "p"}), ("no_changes", None, None, {"steps": 3}),
              ("completed", "planned", "completed", {})]
SCENARIOS |= {
    "rolling batch running": (
        {"status": "executing", "phase": "batch 2/3", **ROLLING}, [*STARTED, step("update")],
        {"FrozenUntil": "done", "Rollout": "done", "ExecuteWaves": "running", "AfterPhase": "not-reached",
         "CanaryPhase": "not-reached", "GreenPhase": "not-reached"}),
    "canary baking": (
        {"status": "executing", "phase": "bake", **CANARY}, CANARY_BAKING,
        {"FrozenUntil": "done", "CanaryPhase": "done", "ExecuteWaves": "done", "AfterPhase": "done",
         "VerifyPhase": "done", "BakeOrGoOn": "done", "Bake": "running", "WatchBake": "not-reached",
         "RestPhase": "not-reached", "Rollout": "not-reached", "VerifyDeployment": "not-reached"}),
    "canary's bake read before its events were": (
        {"status": "executing", "phase": "bake", **CANARY}, [*STARTED, step("create")],
        {"CanaryPhase": "done", "ExecuteWaves": "done", "VerifyPhase": "done", "Bake": "running"}),
    "canary's rest running, no step of it recorded yet": (
        {"status": "executing", "phase": "rest", **CANARY}, CANARY_BAKING,
        {"Bake": "done", "WatchBake": "done", "BakeOrGoOn": "done", "RestPhase": "done", "ExecuteWaves": "running",
         "VerifyDeployment": "not-reached"}),
    "canary unhealthy during its bake, rolled back": (
        {"status": "rolled_back", "phase": None, **CANARY},
        [*CANARY_BAKING, ("rollback_started", "executing", "rolling_back", {"cause": "HealthCheckFailed: web0"}),
         ("rolled_back", "rolling_back", "rolled_back", {})],
        {"ExecuteWaves": "done", "VerifyPhase": "done", "Bake": "done", "WatchBake": "failed",
         "ShouldRollBack": "done", "StartRollback": "rolled-back", "DeploymentRolledBack": "rolled-back",
         "RestPhase": "not-reached", "VerifyDeployment": "not-reached"}),
    "canary completed": (
        {"status": "completed", "phase": None, **CANARY}, CANARY_DONE,
        {"CanaryPhase": "done", "VerifyPhase": "done", "Bake": "done", "WatchBake": "done", "RestPhase": "done",
         "ExecuteWaves": "done", "AfterPhase": "done", "VerifyDeployment": "done", "DeploymentCompleted": "done",
         "Rollout": "not-reached", "SwitchTraffic": "not-reached", "RetireBlue": "not-reached"}),
    "blue/green switching": (
        {"status": "executing", "phase": "switch", **BLUE_GREEN}, [*STARTED, step("green"),
                                                                    ("phase_verified", None, None, {"phase": "green"})],
        {"GreenPhase": "done", "VerifyPhase": "done", "BakeOrGoOn": "done", "SwitchTraffic": "done",
         "ExecuteWaves": "running", "Bake": "not-reached"}),
    "blue/green failing after the switch, without rollback": (
        {"status": "failed", "phase": None, **BLUE_GREEN},
        [*BLUE_GREEN_SWITCHED, step("update"), step("update", "step_failed"),
         ("failed", "executing", "failed", {"error": "ApplyFailed"})],
        {"SwitchTraffic": "done", "Bake": "done", "WatchBake": "done", "RestPhase": "done", "ExecuteWaves": "failed",
         "ShouldRollBack": "done", "MarkFailed": "done", "DeploymentFailed": "failed", "RetireBlue": "not-reached"}),
    "blue/green completed": (
        {"status": "completed", "phase": None, **BLUE_GREEN}, BLUE_GREEN_DONE,
        {"GreenPhase": "done", "SwitchTraffic": "done", "Bake": "done", "RestPhase": "done", "RetireBlue": "done",
         "ExecuteWaves": "done", "VerifyDeployment": "done", "DeploymentCompleted": "done",
         "CanaryPhase": "not-reached"}),
    "no changes": (
        {"status": "completed", "phase": None}, NO_CHANGES,
        {"ChooseMode": "done", "PlanDeployment": "done", "RouteAfterPlan": "done", "NothingToChange": "done",
         "BeginExecution": "not-reached", "WaitForApproval": "not-reached", "MarkCompleted": "not-reached",
         "DeploymentCompleted": "not-reached"}),
}

# The path each route draws: ExecuteWaves entered once per segment, every consecutive pair an edge of the ASL.
PATHS = {
    "canary completed": (CANARY, CANARY_DONE, [
        "ChooseMode", "PlanDeployment", "RouteAfterPlan", "BeginExecution", "FrozenUntil", "CanaryPhase",
        "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "Bake", "WatchBake", "BakeOrGoOn", "RestPhase",
        "ExecuteWaves", "AfterPhase", "VerifyDeployment", "MarkCompleted", "DeploymentCompleted"]),
    "blue/green completed": (BLUE_GREEN, BLUE_GREEN_DONE, [
        "ChooseMode", "PlanDeployment", "RouteAfterPlan", "BeginExecution", "FrozenUntil", "GreenPhase",
        "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "SwitchTraffic", "ExecuteWaves", "AfterPhase",
        "VerifyPhase", "BakeOrGoOn", "Bake", "WatchBake", "BakeOrGoOn", "RestPhase", "ExecuteWaves", "AfterPhase",
        "RetireBlue", "ExecuteWaves", "AfterPhase", "VerifyDeployment", "MarkCompleted", "DeploymentCompleted"]),
    "canary rolled back during its bake": (CANARY, [
        *CANARY_BAKING, ("rollback_started", "executing", "rolling_back", {}),
        ("rolled_back", "rolling_back", "rolled_back", {})], [
        "ChooseMode", "PlanDeployment", "RouteAfterPlan", "BeginExecution", "FrozenUntil", "CanaryPhase",
        "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "Bake", "WatchBake", "ShouldRollBack",
        "StartRollback", "RollBackAppliedSteps", "MarkRolledBack", "RolledBackOnRequest", "DeploymentRolledBack"]),
    "rolling completed": (ROLLING, [*STARTED, step("update"), ("verification_started", "executing", "verifying", {}),
                                    ("verified", None, None, {}), ("completed", "verifying", "completed", {})], [
        "ChooseMode", "PlanDeployment", "RouteAfterPlan", "BeginExecution", "FrozenUntil", "Rollout", "ExecuteWaves",
        "AfterPhase", "VerifyDeployment", "MarkCompleted", "DeploymentCompleted"]),
    "no changes": ({}, NO_CHANGES, ["ChooseMode", "PlanDeployment", "RouteAfterPlan", "NothingToChange"]),
}


def event_items(events: list[tuple]) -> list[dict[str, Any]]:
    return [{"type": t, "from_status": f, "to_status": to, "detail": d, "actor": "workflow"} for t, f, to, d in events]


def test_state_colours_follow_the_audit_events(browser: Chromium):
    page = browser.page()
    page.goto(f"{browser.base_url}/console/")
    page.wait_for_selector("#login-form")
    for name, (deployment, events, expected) in SCENARIOS.items():
        got = page.evaluate("""async ([deployment, events, states]) => {
            const { deriveProgress, statusOf } = await import("./js/progress.js");
            const progress = deriveProgress(deployment, events);
            return Object.fromEntries(states.map((s) => [s, statusOf(progress, s)]));
        }""", [deployment, event_items(events), list(expected)])
        assert got == expected, name
    page.context.close()


def test_each_route_draws_its_path_along_edges_of_the_state_machine(browser: Chromium):
    page = browser.page()
    page.goto(f"{browser.base_url}/console/")
    page.wait_for_selector("#login-form")
    edges = asl_edges()
    for name, (deployment, events, expected) in PATHS.items():
        path = page.evaluate("""async ([deployment, events]) => {
            const { deriveProgress } = await import("./js/progress.js");
            return deriveProgress(deployment, events).path;
        }""", [{"status": "completed", **deployment}, event_items(events)])
        assert path == expected, name
        assert [pair for pair in zip(path, path[1:], strict=False) if pair not in edges] == [], name
    page.context.close()


def test_swagger_ui_authorizes_and_tries_out_the_deployment_list(browser: Chromium, admin: Api, tenant: str):
    """/docs uses the generated document: its server is this API (not a stage prefix), its Authorize button takes a
    bearer token, and "Try it out" on GET /api/v1/deployments gets a 200 with the tenant's deployments."""
    _, operator = user(admin, "operator", tenant)
    created = operator.deploy(intent("seen-in-swagger", auto_approve=False))
    page = browser.page()
    page.goto(f"{browser.base_url}/docs")
    page.click(".swagger-ui button.authorize")
    page.fill(".modal-ux input", operator.token)
    page.click(".modal-ux .auth-btn-wrapper button.authorize")
    page.click(".modal-ux button.btn-done")

    operation = page.wait_for_selector("#operations-deployments-listDeployments")
    operation.query_selector(".opblock-summary").click()
    page.click("#operations-deployments-listDeployments button.try-out__btn")
    page.click("#operations-deployments-listDeployments button.execute")
    status = page.wait_for_selector("#operations-deployments-listDeployments .live-responses-table tbody "
                                    ".response-col_status")
    assert status.text_content().strip() == "200"
    url = page.text_content("#operations-deployments-listDeployments .request-url")
    assert f"{browser.base_url}/api/v1/deployments?" in url, url
    body = page.text_content("#operations-deployments-listDeployments .live-responses-table .microlight")
    assert created["id"] in body
    page.screenshot(path=str(SCREENSHOTS / "swagger-try-it-out.png"))


def test_a_rolled_back_run_says_what_was_undone_instead_of_a_percentage(browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    body = intent("undone")
    body["resources"][2]["properties"]["simulate"] = {"fail_apply": "always"}  # compute fails after two applied
    created = operator.deploy(body)
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"}, timeout=120)
    assert done["status"] == "rolled_back", done

    page = open_deployment(browser, operator.token, created["id"])
    page.wait_for_selector("#undo-summary")
    assert page.text_content("#undo-summary") == "undid 2 of 2 applied steps"
    assert "Progress" not in page.text_content(".meta")
    page.screenshot(path=str(SCREENSHOTS / "console-rolled-back.png"), full_page=True)
    page.context.close()


def test_resource_graph_groups_resources_by_wave_and_shows_a_step_with_its_terraform(browser: Chromium, admin: Api,
                                                                                       tenant: str):
    _, operator = user(admin, "operator", tenant)
    body = intent("graph")
    body["resources"][2]["properties"]["simulate"] = {"fail_apply": "always"}
    created = operator.deploy(body)
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"}, timeout=120)
    assert done["status"] == "rolled_back", done
    steps = {s["resource_identifier"]: s for s in operator.steps(created["id"])}

    page = open_deployment(browser, operator.token, created["id"])
    page.wait_for_selector("#resource-graph svg .resource")
    waves = page.eval_on_selector_all("#resource-graph .resource-wave", "els => els.map(e => e.textContent)")
    assert waves == ["Wave 1", "Wave 2", "Wave 3"]
    nodes = page.eval_on_selector_all(
        "#resource-graph .resource",
        "els => els.map(e => [e.dataset.identifier, e.dataset.status, e.querySelector('rect').getAttribute('x')])")
    status = {identifier: state for identifier, state, _ in nodes}
    assert status == {"aws/us-east-1/network/vpc": "rolled-back", "gcp/us-central1/database/db": "rolled-back",
                      "aws/us-east-1/compute/app": "failed"}
    columns = {identifier: float(x) for identifier, _, x in nodes}
    assert columns["aws/us-east-1/network/vpc"] < columns["gcp/us-central1/database/db"] \
        < columns["aws/us-east-1/compute/app"]  # each wave its own column, in order
    edges = page.eval_on_selector_all("#resource-graph .resource-edge",
                                      "els => els.map(e => [e.dataset.from, e.dataset.to])")
    app = steps["aws/us-east-1/compute/app"]
    assert sorted(edges) == sorted([[dep, s["step_id"]] for s in steps.values() for dep in s["dependencies"]])
    assert len([e for e in edges if e[1] == app["step_id"]]) == 2

    page.click(f"#resource-graph .resource[data-step='{app['step_id']}']")
    page.wait_for_selector("#resource-detail:not([hidden])")
    assert page.text_content("#resource-detail-title") == "aws/us-east-1/compute/app"
    assert "simulated apply failure" in page.text_content("#resource-detail")
    page.wait_for_function("!document.querySelector('#resource-terraform').textContent.startsWith('Loading')")
    terraform = json.loads(page.text_content("#resource-terraform"))
    assert list(terraform["resource"]) and all("app_us_east_1" in blocks for blocks in terraform["resource"].values())
    page.screenshot(path=str(SCREENSHOTS / "console-resource-graph.png"), full_page=True)
    page.context.close()


def test_a_deployment_of_10000_steps_shows_a_page_of_steps_with_filters_and_paging(browser: Chromium, admin: Api,
                                                                                      tenant: str, local_cloud):
    _, viewer = user(admin, "viewer", tenant)
    database = Database(local_cloud.database_url, min_size=1, max_size=2, name="test-console")
    try:
        deployment_id, runs = stored_deployment(database, tenant, 10_000, succeeded=150, failed=3)
    finally:
        database.close()

    started = time.monotonic()
    page = open_deployment(browser, viewer.token, deployment_id)
    page.wait_for_selector("#step-results tr[data-step]")
    assert time.monotonic() - started < 10  # one summary, one page of steps, three events

    def rows() -> list[str]:
        return page.eval_on_selector_all("#step-results tr[data-step]", "trs => trs.map(t => t.dataset.step)")

    first = rows()
    assert first == [r.step_id for r in sorted(runs, key=lambda r: (r.wave, int(r.step_id[1:])))][:100]
    assert page.text_content("#steps-page") == "1–100 of 10,000"
    assert page.locator("#resource-graph .resource").count() == 100  # the graph draws the page, not the plan
    assert "10000" in page.text_content("#plan") or "10,000" in page.text_content("#plan")
    assert page.is_disabled("#steps-previous")

    page.click("#steps-next")
    page.wait_for_function("document.querySelector('#steps-page').textContent.startsWith('101')")
    second = rows()
    assert len(second) == 100 and not set(first) & set(second)
    page.click("#steps-previous")
    page.wait_for_function("document.querySelector('#steps-page').textContent.startsWith('1–')")
    assert rows() == first

    page.select_option("#step-status", "failed")
    page.wait_for_function("document.querySelector('#steps-page').textContent === '1–3 of 3'")
    assert sorted(rows()) == sorted(r.step_id for r in runs[150:153])
    assert page.is_disabled("#steps-next")
    page.select_option("#step-status", "")
    page.fill("#step-wave", "3")
    page.dispatch_event("#step-wave", "change")
    page.wait_for_function("document.querySelector('#step-results tr[data-step]')?.closest('table')"
                           ".querySelector('.wave-row th').textContent === 'Wave 3'")
    assert set(page.eval_on_selector_all("#step-results .wave-row th", "ths => ths.map(t => t.textContent)")) \
        == {"Wave 3"}
    page.screenshot(path=str(SCREENSHOTS / "console-10000-steps.png"), full_page=False)
    page.context.close()


# -- deployment strategies -----------------------------------------------------------------------------------------

CANARY_PHASES = [{"name": "canary", "kind": "canary", "steps": 1, "bake_seconds": None},
                 {"name": "bake", "kind": "bake", "steps": 0, "bake_seconds": 90},
                 {"name": "rest", "kind": "rest", "steps": 2, "bake_seconds": None}]


def serve_changed(page, deployment_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The page reads GET /deployments/{id} (and the list's row of it) as the API answers, changed by `change`:
    the strategy fields of a run in a given phase, or a server without them. Every other route is served as is."""
    def summary(route):
        response = route.fetch()
        route.fulfill(response=response, json=change(response.json()))

    def listing(route):
        response = route.fetch()
        page_of = response.json()
        page_of["items"] = [change(d) if d["id"] == deployment_id else d for d in page_of["items"]]
        route.fulfill(response=response, json=page_of)

    page.route(lambda url: urlparse(url).path.endswith(f"/api/v1/deployments/{deployment_id}"), summary)
    page.route(lambda url: urlparse(url).path.endswith("/api/v1/deployments"), listing)


def countdown_seconds(page) -> int:
    minutes, seconds = re.fullmatch(r"(\d+):(\d\d) left", page.text_content("#phase-countdown")).groups()
    return int(minutes) * 60 + int(seconds)


def test_a_baking_canary_shows_its_phase_a_countdown_ticking_each_second_and_the_plans_phases(
        browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    created = operator.deploy(intent("canary-bake", auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")  # stays there: the page keeps refreshing
    run = {"strategy": "canary", "phase": "bake",
           "phase_ends_at": (datetime.now(UTC) + timedelta(seconds=90)).isoformat()}

    def baking(d: dict[str, Any]) -> dict[str, Any]:
        plan = d.get("plan") and {**d["plan"], "strategy": "canary", "phases": CANARY_PHASES,
                                  "expected_downtime_seconds": None}
        return {**d, **run, **({"plan": plan} if plan else {})}

    page = browser.page(operator.token)
    serve_changed(page, created["id"], baking)
    page.goto(f"{browser.base_url}/console/#/deployments")
    note = page.wait_for_selector(f'#deployments tr[data-id="{created["id"]}"] .phase-note')
    assert note.text_content() == "bake"
    page.click(f'#deployments tr[data-id="{created["id"]}"] a')
    page.wait_for_selector("#deployment-phase[data-phase=bake] #phase-countdown")
    first = countdown_seconds(page)
    assert 80 <= first <= 90, first
    # The API says the same phase_ends_at at every refresh: the seconds fall by the browser's clock, each second.
    page.wait_for_function(f"document.querySelector('#phase-countdown').textContent !== "
                           f"{json.dumps(page.text_content('#phase-countdown'))}", timeout=2500)
    time.sleep(2.2)
    later = countdown_seconds(page)
    assert first - 4 <= later <= first - 2, (first, later)

    phases = page.eval_on_selector_all("#plan-phases li", "lis => lis.map(li => [li.dataset.phase, "
                                       "li.getAttribute('aria-current'), li.textContent])")
    assert [(name, current) for name, current, _ in phases] == [("canary", None), ("bake", "step"), ("rest", None)]
    assert [text for _, _, text in phases] == ["canary1 step", "bake1m 30s", "rest2 steps"]
    assert page.text_content("#plan-phases h3") == "Strategy canary · 3 phases"
    page.screenshot(path=str(SCREENSHOTS / "console-canary-bake.png"), full_page=True)

    # A bake past its end (or a clock ahead of the server's) reads 0:00, never below.
    run["phase_ends_at"] = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    page.wait_for_function("document.querySelector('#phase-countdown').textContent === '0:00 left'")
    time.sleep(1.2)
    assert page.text_content("#phase-countdown") == "0:00 left"
    # The bake ends: the next phase is marked, and no countdown is left.
    run.update(phase="rest", phase_ends_at=None)
    page.wait_for_selector("#deployment-phase[data-phase=rest]")
    assert page.locator("#phase-countdown").count() == 0
    assert page.get_attribute("#plan-phases li[aria-current=step]", "data-phase") == "rest"
    page.context.close()


def canary_intent(name: str, bake_seconds: int) -> dict[str, Any]:
    """A network and four compute instances: the canary is one of them (25%) with the network it needs."""
    net = "aws/us-east-1/network/net"
    return intent(name, target_providers=["aws"], strategy="canary",
                  strategy_options={"canary_percent": 25, "bake_seconds": bake_seconds}, resources=[
                      {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "net",
                       "properties": {"cidr": "10.0.0.0/16"}},
                      *({"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": f"web{i}",
                         "properties": {"image": "web:1"}, "dependencies": [net]} for i in range(4))])


def test_a_canary_run_draws_its_bake_running_then_the_canary_path_done(browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    created = operator.deploy(canary_intent("canary-path", bake_seconds=6))
    page = open_deployment(browser, operator.token, created["id"])
    # The bake (6 s, checked every second by the local cloud) is seen by a refresh (every 2 s).
    wait_for_state(page, "Bake", "running")
    # A refresh reads the deployment before its events: the phase may show on the refresh after the graph's.
    page.wait_for_selector("#deployment-phase[data-phase=bake]", timeout=5_000)
    baking = {state: state_status(page, state) for state in
              ("CanaryPhase", "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "RestPhase", "Rollout")}
    assert baking == {"CanaryPhase": "done", "ExecuteWaves": "done", "AfterPhase": "done", "VerifyPhase": "done",
                      "BakeOrGoOn": "done", "RestPhase": "not-reached", "Rollout": "not-reached"}, baking
    assert {"FrozenUntil>CanaryPhase", "CanaryPhase>ExecuteWaves", "VerifyPhase>BakeOrGoOn",
            "BakeOrGoOn>Bake"} <= set(taken_edges(page))
    page.screenshot(path=str(SCREENSHOTS / "console-canary-baking-graph.png"), full_page=True)

    assert operator.wait_for(created["id"], {"completed", "failed", "rolled_back"}, timeout=60)["status"] == "completed"
    wait_for_state(page, "DeploymentCompleted", "done")
    path = ["FrozenUntil", "CanaryPhase", "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "Bake",
            "WatchBake", "RestPhase", "VerifyDeployment", "MarkCompleted", "DeploymentCompleted"]
    off_path = ["Rollout", "GreenPhase", "SwitchTraffic", "RetireBlue", "NothingToChange", "ShouldRollBack"]
    statuses = {state: state_status(page, state) for state in path + off_path}
    assert statuses == {**dict.fromkeys(path, "done"), **dict.fromkeys(off_path, "not-reached")}, statuses
    taken = set(taken_edges(page))
    assert {"WatchBake>BakeOrGoOn", "BakeOrGoOn>RestPhase", "RestPhase>ExecuteWaves", "AfterPhase>VerifyPhase",
            "AfterPhase>VerifyDeployment", "VerifyDeployment>MarkCompleted"} <= taken, taken
    assert {f"{a}>{b}" for a, b in asl_edges()} >= taken  # only the machine's own edges are drawn
    assert "FrozenUntil>Rollout" not in taken and "AfterPhase>RetireBlue" not in taken
    page.screenshot(path=str(SCREENSHOTS / "console-canary-completed.png"), full_page=True)
    page.context.close()


def blue_green_intent(name: str, version: int, strategy: str) -> dict[str, Any]:
    """A network, two compute instances and a load balancer in front of them."""
    net = "aws/us-east-1/network/net"
    computes = [{"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": f"web{i}",
                 "properties": {"image": f"web:{version}"}, "dependencies": [net]} for i in range(2)]
    return intent(name, target_providers=["aws"], strategy=strategy, strategy_options={"bake_seconds": 1}
                  if strategy == "blue_green" else {}, resources=[
                      {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "net",
                       "properties": {"cidr": "10.0.0.0/16"}}, *computes,
                      {"resource_type": "load_balancer", "provider": "aws", "region": "us-east-1", "name": "lb",
                       "properties": {"listeners": [443]},
                       "dependencies": [f"aws/us-east-1/compute/{c['name']}" for c in computes]}])


def test_a_blue_green_run_draws_green_switch_bake_and_retire(browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    settled = {"completed", "failed", "rolled_back"}
    blue = operator.deploy(blue_green_intent("bg-path", 1, "rolling"))
    assert operator.wait_for(blue["id"], settled)["status"] == "completed"
    green = operator.deploy(blue_green_intent("bg-path", 2, "blue_green"))
    done = operator.wait_for(green["id"], settled, timeout=60)
    assert done["status"] == "completed", done
    assert {"switch", "retire"} <= {p["kind"] for p in done["plan"]["phases"]}

    page = open_deployment(browser, operator.token, green["id"])
    wait_for_state(page, "DeploymentCompleted", "done")
    path = ["FrozenUntil", "GreenPhase", "ExecuteWaves", "AfterPhase", "VerifyPhase", "BakeOrGoOn", "SwitchTraffic",
            "Bake", "WatchBake", "RestPhase", "RetireBlue", "VerifyDeployment", "MarkCompleted"]
    off_path = ["Rollout", "CanaryPhase", "NothingToChange", "ShouldRollBack"]
    statuses = {state: state_status(page, state) for state in path + off_path}
    assert statuses == {**dict.fromkeys(path, "done"), **dict.fromkeys(off_path, "not-reached")}, statuses
    taken = set(taken_edges(page))
    assert {"FrozenUntil>GreenPhase", "BakeOrGoOn>SwitchTraffic", "SwitchTraffic>ExecuteWaves",
            "BakeOrGoOn>RestPhase", "AfterPhase>RetireBlue", "RetireBlue>ExecuteWaves",
            "AfterPhase>VerifyDeployment"} <= taken, taken
    assert {f"{a}>{b}" for a, b in asl_edges()} >= taken
    page.context.close()


def test_an_unchanged_redeploy_draws_the_plan_ending_in_nothing_to_change(browser: Chromium, admin: Api,
                                                                          tenant: str):
    _, operator = user(admin, "operator", tenant)
    first = operator.deploy(intent("same-again"))
    assert operator.wait_for(first["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"
    again = operator.deploy(intent("same-again"))
    assert operator.wait_for(again["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"
    assert "no_changes" in [e["type"] for e in operator.events(again["id"])]

    page = open_deployment(browser, operator.token, again["id"])
    wait_for_state(page, "NothingToChange", "done")
    done = ["ChooseMode", "PlanDeployment", "RouteAfterPlan", "NothingToChange"]
    unreached = ["WaitForApproval", "BeginExecution", "FrozenUntil", "Rollout", "ExecuteWaves", "VerifyDeployment",
                 "MarkCompleted", "DeploymentCompleted", "MarkFailed"]
    statuses = {state: state_status(page, state) for state in done + unreached}
    assert statuses == {**dict.fromkeys(done, "done"), **dict.fromkeys(unreached, "not-reached")}, statuses
    assert sorted(taken_edges(page)) == ["ChooseMode>PlanDeployment", "PlanDeployment>RouteAfterPlan",
                                         "RouteAfterPlan>NothingToChange"]
    page.context.close()


def test_a_recreate_plan_states_its_downtime_and_an_older_server_shows_no_strategy_fields(
        browser: Chromium, admin: Api, tenant: str):
    _, operator = user(admin, "operator", tenant)
    created = operator.deploy(intent("recreate-plan", auto_approve=False))
    operator.wait_for(created["id"], "awaiting_approval")

    def recreate(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "strategy": "recreate", "phase": None, "phase_ends_at": None,
                "plan": {**d["plan"], "strategy": "recreate", "expected_downtime_seconds": 95, "phases": [
                    {"name": "destroy", "kind": "destroy", "steps": 3, "bake_seconds": None},
                    {"name": "create", "kind": "create", "steps": 3, "bake_seconds": None}]}}

    page = browser.page(operator.token)
    serve_changed(page, created["id"], recreate)
    page.goto(f"{browser.base_url}/console/#/deployments/{created['id']}")
    page.wait_for_selector("#plan-phases")
    assert page.text_content("#expected-downtime") == "1m 35s"
    assert page.eval_on_selector_all("#plan-phases li", "lis => lis.map(li => li.dataset.phase)") \
        == ["destroy", "create"]
    assert page.locator("#deployment-phase").count() == 0  # waiting for approval: no phase yet
    page.context.close()

    def rolling(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "strategy": "rolling", "phase": "batch 200/400", "phase_ends_at": None,
                "plan": {**d["plan"], "strategy": "rolling", "expected_downtime_seconds": None, "phases": [
                    {"name": f"batch {i}/400", "kind": "batch", "steps": 25, "bake_seconds": None}
                    for i in range(1, 401)]}}

    page = browser.page(operator.token)
    serve_changed(page, created["id"], rolling)
    page.goto(f"{browser.base_url}/console/#/deployments/{created['id']}")
    page.wait_for_selector("#plan-phases li[aria-current=step]")
    # Hundreds of batches: the list shows the stretch around the running one, numbered as in the plan.
    shown = page.eval_on_selector_all("#plan-phases li", "lis => lis.map(li => [li.value, li.dataset.phase])")
    assert shown[0] == [198, "batch 198/400"] and shown[2] == [200, "batch 200/400"] and len(shown) == 12
    assert page.get_attribute("#plan-phases li[aria-current=step]", "data-phase") == "batch 200/400"
    notes = page.eval_on_selector_all("#plan-phases .more-note", "ps => ps.map(p => p.textContent)")
    assert notes == ["… 197 earlier phases", "… and 191 more phases"]
    assert page.text_content("#deployment-phase") == "batch 200/400"
    page.context.close()

    strategy_fields = {"strategy", "phase", "phase_ends_at"}
    plan_fields = {"strategy", "phases", "expected_downtime_seconds"}

    def older(d: dict[str, Any]) -> dict[str, Any]:
        plan = {k: v for k, v in d["plan"].items() if k not in plan_fields} if d.get("plan") else d.get("plan")
        return {**{k: v for k, v in d.items() if k not in strategy_fields}, "plan": plan}

    page = browser.page(operator.token)
    serve_changed(page, created["id"], older)
    page.goto(f"{browser.base_url}/console/#/deployments/{created['id']}")
    wait_for_state(page, "WaitForApproval", "waiting")
    page.wait_for_selector("#plan .stats")
    assert page.locator("#deployment-phase").count() == 0 and page.locator("#plan-phases").count() == 0
    assert page.locator("#expected-downtime").count() == 0 and "Waves" in page.text_content("#plan")
    page.context.close()
