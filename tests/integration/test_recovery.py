"""Faults during a run, injected for real: the local cloud killed mid-apply and started again, Valkey stopped
mid-apply. After each, the deployment finishes or rolls back, no step stays running and nothing is orphaned."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from api_client import Api, intent

from localcloud.process import LocalCloudProcess

pytestmark = pytest.mark.integration
TERMINAL = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


def slow_intent(name: str, *, latency_ms: int, queues: int = 4, failing: bool = False) -> dict:
    """A network, then `queues` queues in one wave that take `latency_ms` each; optionally one that always fails."""
    vpc = {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": f"{name}-vpc",
           "properties": {"cidr": "10.0.0.0/16"}, "tags": {"team": "web"}}
    resources = [vpc] + [
        {"resource_type": "queue", "provider": "aws", "region": "us-east-1", "name": f"{name}-q{n}",
         "properties": {"size": "small", "simulate": {"latency_ms": latency_ms}}, "tags": {"team": "web"},
         "dependencies": [f"aws/us-east-1/network/{name}-vpc"]} for n in range(queues)]
    if failing:
        resources.append({"resource_type": "queue", "provider": "aws", "region": "us-east-1", "name": "broken",
                          "properties": {"size": "small", "simulate": {"fail_apply": "always", "latency_ms": 500}},
                          "tags": {"team": "web"}, "dependencies": [f"aws/us-east-1/network/{name}-vpc"]})
    return intent(name, resources=resources, target_providers=["aws"])


def wait_until(predicate, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def step_statuses(deployment: dict) -> list[str]:
    """The states the deployment's steps are in (from the summary's counts)."""
    return [status for status, n in deployment["steps"]["by_status"].items() if n]


# -- Valkey stopped mid-apply -------------------------------------------------------------------------------------


def test_valkey_outage_mid_apply_delays_the_rollback_and_orphans_nothing(admin: Api, tenant: str, server_control):
    operator = admin.create_user("operator", tenant)
    before = operator.resources()
    created = operator.deploy(slow_intent("outage", latency_ms=1500, failing=True))
    wait_until(lambda: "succeeded" in step_statuses(operator.get(created["id"])), 60, "a first applied step")

    server_control.stop_redis()
    try:
        time.sleep(4)  # steps, their Retry and the rollback meet the outage
    finally:
        server_control.start_redis()

    done = operator.wait_for(created["id"], TERMINAL, timeout=180)
    assert done["status"] == "rolled_back", done
    assert not {"running", "acquired", "queued"} & set(step_statuses(done)), done["steps"]
    assert operator.resources() == before


def test_postgres_outage_mid_apply_delays_the_run_and_it_completes(admin: Api, tenant: str, server_control):
    operator = admin.create_user("operator", tenant)
    created = operator.deploy(slow_intent("pg-outage", latency_ms=1500))
    wait_until(lambda: "succeeded" in step_statuses(operator.get(created["id"])), 60, "a first applied step")

    server_control.stop_postgres()
    try:
        time.sleep(4)
    finally:
        server_control.start_postgres()

    done = operator.wait_for(created["id"], TERMINAL, timeout=180)
    assert done["status"] == "completed", done
    assert set(step_statuses(done)) == {"succeeded"}
    assert len(operator.resources(created["id"])) == 5


# -- the whole local cloud killed mid-apply and started again ---------------------------------------------------


@pytest.fixture
def cloud_process(tmp_path: Path, database_url: str, servers, redis_key_prefix: str):
    cloud = LocalCloudProcess(tmp_path, {"DATABASE_URL": database_url, "REDIS_URL": servers.redis_url,
                                    "REDIS_KEY_PREFIX": redis_key_prefix, "LOCK_TTL_SECONDS": "5"})
    yield cloud
    cloud.stop()


def test_local_cloud_killed_mid_apply_rolls_back_on_restart_and_a_pending_approval_still_runs(cloud_process):
    cloud = cloud_process.start()
    status, login = cloud.call("POST", "/api/v1/auth/login", {"username": "admin",
                                                               "password": cloud.admin_password()})
    assert status == 200, login
    token = login["access_token"]

    def get(deployment_id: str) -> dict:
        status, body = cloud.call("GET", f"/api/v1/deployments/{deployment_id}", token=token)
        assert status == 200, body
        return body

    status, waiting = cloud.call("POST", "/api/v1/deployments", token=token,
                                 body=intent(f"approve-later-{uuid.uuid4().hex[:6]}", auto_approve=False))
    assert status == 201, waiting
    wait_until(lambda: get(waiting["id"])["status"] == "awaiting_approval", 60, "awaiting approval")
    status, running = cloud.call("POST", "/api/v1/deployments", slow_intent("crash", latency_ms=4000), token=token)
    assert status == 201, running
    wait_until(lambda: "succeeded" in step_statuses(get(running["id"])), 60, "the network applied")
    wait_until(lambda: "running" in step_statuses(get(running["id"])), 30, "queues applying")

    cloud.kill()
    cloud.start()

    # The approval's execution died with the process: approving runs the workflow again, it does not answer 200
    # for nothing.
    status, approved = cloud.call("POST", f"/api/v1/deployments/{waiting['id']}/approve", {}, token=token)
    assert status == 200, approved
    wait_until(lambda: get(waiting["id"])["status"] in TERMINAL, 90, "the approved deployment to finish")
    assert get(waiting["id"])["status"] == "completed"

    assert get(running["id"])["status"] == "executing"  # nothing recorded an outcome
    status, swept = cloud.fire("ReconcileFunction")
    assert status == 200 and running["id"] in swept["deployments_settled"], swept
    wait_until(lambda: get(running["id"])["status"] in TERMINAL, 120, "the recovery to finish")
    done = get(running["id"])
    assert done["status"] == "rolled_back", done
    assert not {"running", "acquired", "queued"} & set(step_statuses(done)), done["steps"]
    status, left = cloud.call("GET", f"/api/v1/cloud/resources?deployment_id={running['id']}", token=token)
    assert status == 200 and left["items"] == []
    status, events = cloud.call("GET", f"/api/v1/deployments/{running['id']}/events", token=token)
    assert "workflow_restarted" in [e["type"] for e in events["items"]]
