"""POST /api/v1/plans on the local cloud: the plan a deployment of an intent would get now, with nothing stored but
an audit record. Each test works in a tenant of its own, so plans see only that test's inventory."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from api_client import Api

pytestmark = pytest.mark.integration

SECRET = "hunter2-do-not-echo"
# Steps go with their deployment (they have no tenant column).
TABLES_OF_A_DEPLOYMENT = ("deployments", "deployment_events", "resource_claims", "cloud_resources")


def intent(name: str, *, size: str = "small", password: str = SECRET, **overrides: Any) -> dict[str, Any]:
    body = {"name": name, "description": "speculative plan test", "target_providers": ["aws"],
            "environment": "staging", "auto_approve": True,
            "resources": [
                {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "net",
                 "properties": {"cidr": "10.0.0.0/16"}, "tags": {"team": "qa"}},
                {"resource_type": "database", "provider": "aws", "region": "us-east-1", "name": "db",
                 "properties": {"size": size, "admin_password": password},
                 "dependencies": ["aws/us-east-1/network/net"]}]}
    body.update(overrides)
    return body


class Tenant:
    def __init__(self, admin: Api, database_url: str):
        self.name, self.database_url = f"plans-{uuid.uuid4().hex[:8]}", database_url
        self.users = {role: admin.create_user(role, self.name) for role in ("deployer", "viewer", "operator")}

    def rows(self, table: str) -> int:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (self.name,)).fetchone()[0]

    def audit(self) -> list[dict[str, Any]]:
        with psycopg.connect(self.database_url) as conn:
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            return cursor.execute("SELECT * FROM plan_audit WHERE tenant_id = %s ORDER BY at", (self.name,)).fetchall()


@pytest.fixture
def tenant(admin: Api, local_cloud) -> Tenant:
    return Tenant(admin, local_cloud.database_url)


def plan(user: Api, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    reply = user.call("POST", "/api/v1/plans", body, **kwargs)
    assert reply.status == 200, reply.body
    return reply.body


def by_resource(answer: dict[str, Any]) -> dict[str, str]:
    return {step["resource_identifier"]: step["action"] for step in answer["plan"]["steps"]}


def test_a_deployer_gets_the_plan_and_nothing_but_an_audit_record_is_stored(tenant: Tenant):
    deployer = tenant.users["deployer"]
    answer = plan(deployer, intent("web"), headers={"X-Correlation-Id": "corr-spec-1"})
    assert by_resource(answer) == {"aws/us-east-1/network/net": "create", "aws/us-east-1/database/db": "create"}
    assert answer["summary"] == {"by_action": {"create": 2}, "has_changes": True, "blocked": False,
                                 "estimated_monthly_cost": answer["plan"]["estimated_monthly_cost"],
                                 "risk": answer["plan"]["risk_assessment"]}
    assert answer["plan"]["estimated_monthly_cost"] > 0 and answer["plan"]["waves"] == [["s1"], ["s2"]]
    assert all("resource" not in step for step in answer["plan"]["steps"])
    assert SECRET not in str(answer)
    # The deployment id the planner was given is a fresh one that names nothing.
    assert deployer.call("GET", f"/api/v1/deployments/{answer['plan']['deployment_id']}").status == 404

    assert {table: tenant.rows(table) for table in TABLES_OF_A_DEPLOYMENT} == dict.fromkeys(TABLES_OF_A_DEPLOYMENT, 0)
    [row] = tenant.audit()
    me = deployer.call("GET", "/api/v1/auth/me").body
    assert (row["actor_id"], row["actor"]) == (me["id"], me["username"])
    assert (row["stack"], row["environment"], row["plan_id"], row["correlation_id"]) == (
        "web", "staging", answer["plan"]["plan_id"], "corr-spec-1")
    assert (row["by_action"], row["has_changes"], row["blocked"], row["risk"]) == (
        {"create": 2}, True, False, answer["plan"]["risk_assessment"])
    assert float(row["estimated_monthly_cost"]) == answer["plan"]["estimated_monthly_cost"]
    assert SECRET not in str(row)


def test_a_viewer_is_refused_before_anything_is_read_or_recorded(tenant: Tenant):
    reply = tenant.users["viewer"].call("POST", "/api/v1/plans", intent("web"))
    assert reply.status == 403 and reply.body["code"] == "forbidden", reply.body
    assert tenant.audit() == []


def test_an_invalid_intent_is_422_naming_every_bad_field_and_records_nothing(tenant: Tenant):
    bad = intent("web")
    del bad["description"]
    bad["resources"][1]["region"] = "mars-1"
    bad["resources"][1]["dependencies"] = ["aws/us-east-1/network/missing"]
    reply = tenant.users["deployer"].call("POST", "/api/v1/plans", bad)
    assert reply.status == 422, reply.body
    locations = {error["location"] for error in reply.body["details"]}
    assert {"description", "resources.1.region", "resources.1.dependencies.0"} <= locations, locations
    assert tenant.audit() == []


def test_the_plan_is_the_one_a_deployment_of_the_intent_gets(tenant: Tenant):
    operator = tenant.users["operator"]
    body = intent("same", auto_approve=False)
    speculative = plan(operator, body)["plan"]
    created = operator.deploy(body)
    operator.wait_for(created["id"], "awaiting_approval")
    stored = operator.get(created["id"])["plan"]
    steps = operator.pages(f"/api/v1/deployments/{created['id']}/steps")
    assert [(s["step_id"], s["action"], s["resource_identifier"], s["wave"]) for s in steps] == [
        (s["step_id"], s["action"], s["resource_identifier"], s["wave"]) for s in speculative["steps"]]
    for figure in ("estimated_monthly_cost", "estimated_total_duration_seconds", "critical_path",
                   "risk_assessment", "risk_reasons", "requires_approval", "blocked", "reasoning"):
        assert stored[figure] == speculative[figure], figure
    assert speculative["deployment_id"] != created["id"] and speculative["plan_id"] != stored["plan_id"]


def test_after_a_deployment_an_unchanged_intent_has_no_changes_and_a_changed_one_shows_old_and_new(tenant: Tenant):
    operator = tenant.users["operator"]
    done = operator.deploy(intent("live"))
    operator.wait_for(done["id"], "completed")

    unchanged = plan(tenant.users["deployer"], intent("live"))
    assert unchanged["summary"]["has_changes"] is False and unchanged["summary"]["by_action"] == {"no-op": 2}

    changed = plan(tenant.users["deployer"], intent("live", size="large", password="new-" + SECRET))
    db = next(s for s in changed["plan"]["steps"] if s["name"] == "db")
    assert db["action"] == "update" and db["changed_paths"] == ["properties.admin_password", "properties.size"]
    assert db["changes"] == [
        {"path": "properties.admin_password", "old": "(sensitive)", "new": "(sensitive)"},
        {"path": "properties.size", "old": "small", "new": "large"}]
    assert SECRET not in str(changed)

    dropped = intent("live")
    dropped["resources"] = dropped["resources"][:1]
    assert by_resource(plan(operator, dropped)) == {"aws/us-east-1/network/net": "no-op",
                                                    "aws/us-east-1/database/db": "destroy"}
    # Still one deployment, as it was: planning claimed and changed nothing.
    assert tenant.rows("deployments") == 1 and len(tenant.audit()) == 3
    assert operator.get(done["id"])["status"] == "completed"


def test_an_idempotency_key_replays_nothing_each_request_plans_again(tenant: Tenant):
    deployer = tenant.users["deployer"]
    first = deployer.call("POST", "/api/v1/plans", intent("web"), headers={"Idempotency-Key": "k-1"})
    again = deployer.call("POST", "/api/v1/plans", intent("web"), headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 200
    assert "idempotent-replayed" not in {k.lower() for k in again.headers}
    assert first.body["plan"]["plan_id"] != again.body["plan"]["plan_id"] and len(tenant.audit()) == 2
