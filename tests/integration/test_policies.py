"""Tenant policy sets, change-freeze windows, overrides, cross-stack references and blast radius, on the local
cloud's real servers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_client import Api, intent

pytestmark = pytest.mark.integration
TERMINAL = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


@pytest.fixture
def tenant_admin(admin: Api, tenant: str) -> Api:
    return admin.create_user("admin", tenant)


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def queue(name: str, region: str = "us-east-1", size: str = "small", **tags: str) -> dict:
    return {"resource_type": "queue", "provider": "aws", "region": region, "name": name,
            "properties": {"size": size}, "tags": {"team": "web", **tags}}


def stack(name: str, *resources: dict, **overrides) -> dict:
    return intent(name, resources=list(resources), target_providers=["aws"], **overrides)


def add_policy(api: Api, name: str, enforcement: str, rule: dict, environments: list[str] | None = None) -> dict:
    reply = api.call("POST", "/api/v1/policies", {"name": name, "description": f"{name} for the tests",
                                                  "environments": environments or [], "enforcement": enforcement,
                                                  "rule": rule})
    assert reply.status == 201, reply.body
    return reply.body


def results(deployment: dict) -> dict[str, dict]:
    return {r["policy"]: r for r in deployment["plan"]["policy_results"]}


def test_advisory_soft_mandatory_and_mandatory_policies_each_decide_their_plans(tenant_admin: Api, operator: Api,
                                                                                 tenant: str):
    add_policy(tenant_admin, "cost-center-tag", "advisory", {"tag_required": "cost-center"})
    add_policy(tenant_admin, "small-queues", "soft_mandatory",
               {"property": "size", "in": ["small"], "resource_types": ["queue"]})
    add_policy(tenant_admin, "us-east-only", "mandatory", {"allowed_regions": ["us-east-1"]})
    viewer = tenant_admin.create_user("viewer", tenant)
    listed = {p["name"] for p in viewer.call("GET", "/api/v1/policies").body["items"]}
    assert {"cost-center-tag", "small-queues", "us-east-only"} <= listed and len(listed) == 3 + 6  # + the defaults
    assert viewer.call("POST", "/api/v1/policies", {"name": "x", "enforcement": "advisory",
                                                    "rule": {"max_steps": 1}}).status == 403

    advisory = operator.wait_for(operator.deploy(stack("adv", queue("adv-q")))["id"], TERMINAL)
    assert advisory["status"] == "completed"
    assert results(advisory)["cost-center-tag"] == {
        "policy": "cost-center-tag", "policy_id": results(advisory)["cost-center-tag"]["policy_id"],
        "enforcement": "advisory", "result": "advisory", "resources": ["aws/us-east-1/queue/adv-q"],
        "resource_count": 1}
    assert results(advisory)["small-queues"]["result"] == "passed"
    assert results(advisory)["us-east-only"]["result"] == "passed"

    blocked = operator.wait_for(operator.deploy(stack("far", queue("far-q", region="eu-west-1",
                                                                   **{"cost-center": "42"})))["id"], TERMINAL)
    assert blocked["status"] == "failed" and "us-east-only" in blocked["error_message"]
    assert results(blocked)["us-east-only"]["result"] == "blocked"
    assert results(blocked)["us-east-only"]["resources"] == ["aws/eu-west-1/queue/far-q"]
    assert results(blocked)["cost-center-tag"]["result"] == "passed"

    soft = operator.deploy(stack("big", queue("big-q", size="large", **{"cost-center": "42"})))
    waiting = operator.wait_for(soft["id"], "awaiting_approval")
    assert results(waiting)["small-queues"]["result"] == "soft_blocked" and waiting["plan"]["soft_blocked"]
    # Nobody's plain approval lets it through; an operator may not override; an admin with a reason may.
    refused = operator.call("POST", f"/api/v1/deployments/{soft['id']}/approve", {})
    assert refused.status == 409 and refused.body["code"] == "policy_blocked"
    assert operator.call("POST", f"/api/v1/deployments/{soft['id']}/override", {"reason": "x"}).status == 403
    no_reason = tenant_admin.call("POST", f"/api/v1/deployments/{soft['id']}/override", {})
    assert no_reason.status == 422 and "reason" in str(no_reason.body["details"])
    done = tenant_admin.call("POST", f"/api/v1/deployments/{soft['id']}/override", {"reason": "load test week"})
    assert done.status == 200, done.body
    finished = operator.wait_for(soft["id"], TERMINAL)
    assert finished["status"] == "completed"
    assert finished["approval"]["overridden_by"] == tenant_admin.call("GET", "/api/v1/auth/me").body["username"]
    assert finished["approval"]["override_reason"] == "load test week"
    [event] = [e for e in operator.events(soft["id"]) if e["type"] == "policy_overridden"]
    assert event["detail"]["reason"] == "load test week"
    assert event["detail"]["findings"] == [{"rule_id": "small-queues", "resource": "aws/us-east-1/queue/big-q"}]


def test_a_policy_added_between_plan_and_execution_stops_the_run(tenant_admin: Api, operator: Api):
    created = operator.deploy(stack("late", queue("late-q"), auto_approve=False))
    planned = operator.wait_for(created["id"], "awaiting_approval")["plan"]["policy_results"]
    assert planned and {r["result"] for r in planned} == {"passed"}
    add_policy(tenant_admin, "no-changes", "mandatory", {"max_steps": 0})
    assert operator.call("POST", f"/api/v1/deployments/{created['id']}/approve", {}).status == 200
    stopped = operator.wait_for(created["id"], TERMINAL)
    assert stopped["status"] == "cancelled" and "no-changes" in stopped["error_message"]
    assert operator.resources() == []


def test_rules_are_validated_on_write_naming_the_bad_part_and_can_be_replaced_and_deleted(tenant_admin: Api):
    for rule, where in [({"property": "a..b", "equals": 1}, "rule.property"),
                        ({"allowed_providers": ["aws", "ibm"]}, "rule.allowed_providers.1"),
                        ({"max_blast_radius": -1}, "rule.max_blast_radius"),
                        ({"property": "size", "in": ["small"], "colour": "red"}, "rule.colour"),
                        ({"nonsense": True}, "rule")]:
        reply = tenant_admin.call("POST", "/api/v1/policies", {"name": "bad", "enforcement": "mandatory",
                                                               "rule": rule})
        assert reply.status == 422 and [d["location"] for d in reply.body["details"]] == [where], reply.body
    policy = add_policy(tenant_admin, "cap", "advisory", {"max_monthly_cost": 100})
    replaced = tenant_admin.call("PUT", f"/api/v1/policies/{policy['id']}",
                                 {"name": "cap", "enforcement": "mandatory", "rule": {"max_monthly_cost": 50}})
    assert replaced.status == 200 and replaced.body["enforcement"] == "mandatory"
    assert tenant_admin.call("GET", f"/api/v1/policies/{policy['id']}").body["rule"] == {"max_monthly_cost": 50}
    assert tenant_admin.call("DELETE", f"/api/v1/policies/{policy['id']}").status == 204
    assert tenant_admin.call("GET", f"/api/v1/policies/{policy['id']}").status == 404


def test_the_built_in_rules_are_each_tenants_default_set_visible_editable_and_deletable(tenant_admin: Api,
                                                                                        operator: Api):
    defaults = {p["name"]: p for p in operator.call("GET", "/api/v1/policies").body["items"]}
    assert set(defaults) == {"database-encryption", "monthly-cost-ceiling", "production-destroys",
                             "production-owner-tag", "production-storage-not-public", "resource-size-known"}
    assert defaults["database-encryption"]["rule"] == {"builtin": "database-encryption"}
    assert defaults["database-encryption"]["enforcement"] == "mandatory"
    plaintext = {"resource_type": "database", "provider": "aws", "region": "us-east-1", "name": "plain",
                 "properties": {"size": "small", "encrypted": False}, "tags": {"team": "web"}}
    blocked = operator.wait_for(operator.deploy(stack("plain", plaintext))["id"], TERMINAL)
    assert blocked["status"] == "failed" and results(blocked)["database-encryption"]["result"] == "blocked"

    encryption = defaults["database-encryption"]
    assert tenant_admin.call("PUT", f"/api/v1/policies/{encryption['id']}",
                             {**{k: encryption[k] for k in ("name", "description", "rule", "environments")},
                              "enforcement": "advisory"}).status == 200
    assert tenant_admin.call("DELETE", f"/api/v1/policies/{defaults['resource-size-known']['id']}").status == 204
    odd = {**plaintext, "name": "odd", "properties": {"size": "gigantic", "encrypted": False}}
    allowed = operator.wait_for(operator.deploy(stack("plain", odd))["id"], TERMINAL)
    assert allowed["status"] == "completed"
    assert results(allowed)["database-encryption"]["result"] == "advisory"
    assert "resource-size-known" not in results(allowed)
    assert "resource-size-known" not in {w["rule_id"] for w in allowed["plan"]["policy"]["warnings"]}
    # Deleted stays deleted: the defaults are written once per tenant.
    assert "resource-size-known" not in {p["name"] for p in operator.call("GET", "/api/v1/policies").body["items"]}


def add_window(api: Api, **window) -> dict:
    reply = api.call("POST", "/api/v1/freeze-windows", {"reason": "release freeze", **window})
    assert reply.status == 201, reply.body
    return reply.body


def test_a_one_off_freeze_blocks_production_until_an_admin_overrides_and_not_development(tenant_admin: Api,
                                                                                        operator: Api):
    now = datetime.now(UTC)
    ends = (now + timedelta(hours=1)).replace(microsecond=0)
    add_window(tenant_admin, name="quarter-end", environments=["production"], mode="block",
               starts_at=(now - timedelta(minutes=5)).isoformat(), ends_at=ends.isoformat())

    development = operator.deploy(stack("dev-app", queue("dev-q"), environment="development"))
    assert operator.wait_for(development["id"], TERMINAL)["status"] == "completed"

    production = operator.deploy(stack("prod-app", queue("prod-q", owner="web"), environment="production"))
    waiting = operator.wait_for(production["id"], "awaiting_approval")
    [finding] = waiting["plan"]["policy"]["overridable"]
    assert finding["rule_id"] == "change_freeze" and "quarter-end" in finding["message"]
    assert ends.isoformat() in finding["message"]
    assert operator.call("POST", f"/api/v1/deployments/{production['id']}/approve", {}).status == 409
    assert tenant_admin.call("POST", f"/api/v1/deployments/{production['id']}/override",
                             {"reason": "hotfix for an outage"}).status == 200
    assert operator.wait_for(production["id"], TERMINAL)["status"] == "completed"


def test_a_recurring_freeze_is_read_in_its_own_time_zone(tenant_admin: Api, operator: Api):
    zone = ZoneInfo("Asia/Kolkata")  # UTC+05:30: a cron read as UTC would start five and a half hours off
    started = datetime.now(zone) - timedelta(minutes=1)
    add_window(tenant_admin, name="evening", environments=["production"], mode="block",
               cron=f"{started.minute} {started.hour} * * *", duration_minutes=30, timezone="Asia/Kolkata")
    listed = tenant_admin.call("GET", "/api/v1/freeze-windows").body["items"]
    assert [(w["name"], w["timezone"], w["starts_at"]) for w in listed] == [("evening", "Asia/Kolkata", None)]

    production = operator.deploy(stack("prod-rec", queue("rec-q", owner="web"), environment="production"))
    waiting = operator.wait_for(production["id"], "awaiting_approval")
    assert [f["rule_id"] for f in waiting["plan"]["policy"]["overridable"]] == ["change_freeze"]
    development = operator.deploy(stack("dev-rec", queue("dev-rec-q"), environment="development"))
    assert operator.wait_for(development["id"], TERMINAL)["status"] == "completed"

    bad = tenant_admin.call("POST", "/api/v1/freeze-windows", {"name": "x", "reason": "r", "cron": "61 * * * *",
                                                               "duration_minutes": 5, "timezone": "Mars/Base"})
    assert bad.status == 422 and "cron" in bad.body["message"]


def test_a_window_opening_after_approval_queues_the_run_until_it_closes_or_fails_it_in_block_mode(
        tenant_admin: Api, operator: Api):
    queued = operator.deploy(stack("queued", queue("queued-q"), auto_approve=False))
    blocked = operator.deploy(stack("frozen", queue("frozen-q"), auto_approve=False, environment="development"))
    operator.wait_for(queued["id"], "awaiting_approval")
    operator.wait_for(blocked["id"], "awaiting_approval")
    now = datetime.now(UTC)
    ends = now + timedelta(seconds=6)
    add_window(tenant_admin, name="short-queue", environments=["staging"], mode="queue",
               starts_at=now.isoformat(), ends_at=ends.isoformat())
    add_window(tenant_admin, name="short-block", environments=["development"], mode="block",
               starts_at=now.isoformat(), ends_at=(now + timedelta(minutes=10)).isoformat())

    assert operator.call("POST", f"/api/v1/deployments/{queued['id']}/approve", {}).status == 200
    assert operator.call("POST", f"/api/v1/deployments/{blocked['id']}/approve", {}).status == 200
    time.sleep(2)
    assert operator.get(queued["id"])["status"] == "approved"  # waiting for the window to close
    failed = operator.wait_for(blocked["id"], TERMINAL)
    assert failed["status"] == "cancelled" and "change_freeze" in failed["error_message"]
    assert "short-block" in failed["error_message"]

    done = operator.wait_for(queued["id"], TERMINAL, timeout=90)
    assert done["status"] == "completed"
    [began] = [e for e in operator.events(queued["id"]) if e["type"] == "execution_started"]
    assert datetime.fromisoformat(began["at"]) >= ends


def network(name: str, cidr: str = "10.0.0.0/16") -> dict:
    return {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": name,
            "properties": {"cidr": cidr}, "tags": {"team": "core"}}


def test_blast_radius_and_dependents_reach_across_stacks(tenant_admin: Api, operator: Api):
    net = "aws/us-east-1/network/core-net"
    database = {"resource_type": "database", "provider": "gcp", "region": "us-central1", "name": "core-db",
                "properties": {"size": "small"}, "tags": {"team": "core"}, "dependencies": [net]}
    core = intent("core", resources=[network("core-net"), database], target_providers=["aws", "gcp"])
    assert operator.wait_for(operator.deploy(core)["id"], TERMINAL)["status"] == "completed"

    missing = operator.deploy(stack("lost", {**queue("lost-q"), "references": ["aws/us-east-1/network/nowhere"]}))
    lost = operator.wait_for(missing["id"], TERMINAL)
    assert lost["status"] == "failed" and "reference_missing" in str(lost["plan"]["policy"]["violations"])

    app = operator.deploy(stack("app", {**queue("app-q"), "references": [net]}))
    applied = operator.wait_for(app["id"], TERMINAL)
    assert applied["status"] == "completed"
    [reference] = applied["plan"]["policy"]["warnings"]
    assert reference["rule_id"] == "cross_stack_reference" and "'core'" in reference["message"]

    changed = intent("core", resources=[network("core-net", "10.1.0.0/16"), database],
                     target_providers=["aws", "gcp"])
    updated = operator.wait_for(operator.deploy(changed)["id"], TERMINAL)
    [radius] = updated["plan"]["blast_radius"]
    assert radius["resource"] == net and radius["action"] == "update"
    # Nearest first: the intent's own dependent, then the other stack's (each depends on the network directly).
    assert radius["dependents"] == ["gcp/us-central1/database/core-db", "aws/us-east-1/queue/app-q"]
    assert radius["counts"] == {"total": 2, "by_provider": {"aws": 1, "gcp": 1},
                                "by_environment": {"staging": 2}}

    add_policy(tenant_admin, "narrow", "mandatory", {"max_blast_radius": 1})
    wide = operator.wait_for(operator.deploy(intent("core", resources=[network("core-net"), database],
                                                    target_providers=["aws", "gcp"]))["id"], TERMINAL)
    assert wide["status"] == "failed" and results(wide)["narrow"]["resources"] == [net]

    # Destroying what another stack references waits for an admin's override, naming the dependent.
    emptied = operator.deploy(intent("core", resources=[{**queue("core-q")}], target_providers=["aws"],
                                     auto_approve=True))
    waiting = operator.wait_for(emptied["id"], "awaiting_approval")
    [dependents] = [f for f in waiting["plan"]["policy"]["overridable"] if f["resource_identifier"] == net]
    assert dependents["rule_id"] == "dependents_exist" and "aws/us-east-1/queue/app-q" in dependents["message"]


def test_a_drift_remediation_obeys_the_freeze_like_any_deployment(tenant_admin: Api, operator: Api):
    applied = operator.wait_for(operator.deploy(stack("drifty", queue("drifty-q")))["id"], TERMINAL)
    assert applied["status"] == "completed"
    [resource] = operator.resources(applied["id"])
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{resource['id']}", {"tags": {"team": "rogue"}}).status \
        == 200
    report = operator.call("POST", "/api/v1/drift/scan", {"deployment_id": applied["id"]})
    assert report.status == 200 and report.body["has_drift"], report.body
    now = datetime.now(UTC)
    add_window(tenant_admin, name="staging-freeze", environments=["staging"], mode="block",
               starts_at=(now - timedelta(minutes=1)).isoformat(), ends_at=(now + timedelta(hours=2)).isoformat())

    remediation = operator.call("POST", f"/api/v1/drift/reports/{report.body['id']}/remediate")
    assert remediation.status == 201, remediation.body
    waiting = operator.wait_for(remediation.body["id"], "awaiting_approval")
    assert [f["rule_id"] for f in waiting["plan"]["policy"]["overridable"]] == ["change_freeze"]
    assert "staging-freeze" in waiting["plan"]["policy"]["overridable"][0]["message"]
