"""The lifecycle state machine, executed for real on the emulator's Step Functions engine, with our handlers
running in-process against real PostgreSQL and Valkey."""

from __future__ import annotations

import uuid

import pytest

from api_client import Api, intent

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(local_cloud) -> Api:
    creds = local_cloud.admin_credentials()
    return Api(local_cloud).login(creds["username"], creds["password"])


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def test_auto_approved_deployment_completes_and_creates_the_resources(operator: Api):
    created = operator.deploy(intent())
    done = operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})
    assert done["status"] == "completed", done
    assert done["progress_percentage"] == 100.0
    assert done["plan"]["step_count"] == 3 and len(done["plan"]["waves"]) == 3
    assert {r["status"] for r in done["step_results"]} == {"succeeded"}
    resources = operator.resources(created["id"])
    assert sorted(r["resource_identifier"] for r in resources) == [
        "aws/us-east-1/compute/app", "aws/us-east-1/network/vpc", "gcp/us-central1/database/db"]
    types = [e["type"] for e in operator.events(created["id"])]
    assert types[0] == "created" and types[-1] == "completed"
    assert {"plan_generated", "approved", "execution_started", "step_succeeded", "verified"} <= set(types)
