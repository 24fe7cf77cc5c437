"""Ownership by stack, on the local cloud's real servers: what a deployment applies is owned by its stack, never
claimed twice, never overwritten unseen, and never removed by another stack's rollback."""

from __future__ import annotations

import threading
import uuid

import pytest
from api_client import Api, intent

pytestmark = pytest.mark.integration
TERMINAL = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def queue(name: str, **tags: str) -> dict:
    return {"resource_type": "queue", "provider": "aws", "region": "us-east-1", "name": name,
            "properties": {"size": "small"}, "tags": {"team": "web", **tags}}


def one_resource(stack: str, *resources: dict, **overrides) -> dict:
    return intent(stack, resources=list(resources), target_providers=["aws"], **overrides)


def inventory(api: Api) -> dict[str, dict]:
    return {r["resource_identifier"]: r for r in api.resources()}


def types(api: Api, deployment_id: str) -> list[str]:
    return [e["type"] for e in api.events(deployment_id)]


def test_two_stacks_racing_for_one_resource_leave_exactly_one_owner_and_no_rollback_removes_it(operator: Api):
    for round_ in range(10):
        name = f"shared-{round_}"
        identifier = f"aws/us-east-1/queue/{name}"
        created: dict[str, dict] = {}
        start = threading.Barrier(2)

        def post(stack: str, tag: str, name: str, created: dict, start: threading.Barrier) -> None:
            start.wait()
            created[stack] = operator.deploy(one_resource(stack, queue(name, variant=tag)))

        threads = [threading.Thread(target=post, args=(f"stack-{tag}-{round_}", tag, name, created, start))
                   for tag in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = {stack: operator.wait_for(d["id"], TERMINAL) for stack, d in created.items()}
        winners = [stack for stack, d in done.items() if d["status"] == "completed"]
        assert len(winners) == 1, {stack: (d["status"], d["error_message"]) for stack, d in done.items()}
        [winner] = winners
        [loser] = set(done) - {winner}
        assert done[loser]["status"] == "failed"
        rules = {v["rule_id"] for v in done[loser]["plan"]["policy"]["violations"]}
        assert rules & {"resource_claimed", "resource_owned_elsewhere"}, done[loser]["plan"]["policy"]

        owned = inventory(operator)[identifier]
        assert owned["stack"] == winner and owned["tags"]["variant"] == winner.split("-")[1]
        # The loser applied nothing: rolling it back must leave the winner's resource alone.
        assert operator.call("POST", f"/api/v1/deployments/{done[loser]['id']}/rollback").status == 200
        assert operator.wait_for(done[loser]["id"], TERMINAL - {"failed"})["status"] == "rolled_back"
        assert inventory(operator)[identifier] == owned


def test_a_stack_owned_elsewhere_is_blocked_until_adopted_and_the_adoption_is_in_both_audit_trails(operator: Api):
    first = operator.deploy(one_resource("orders", queue("jobs")))
    assert operator.wait_for(first["id"], TERMINAL)["status"] == "completed"

    taken = operator.deploy(one_resource("billing", queue("jobs", owner="billing")))
    blocked = operator.wait_for(taken["id"], TERMINAL)
    assert blocked["status"] == "failed" and "resource_owned_elsewhere" in str(blocked["plan"]["policy"])
    assert inventory(operator)["aws/us-east-1/queue/jobs"]["stack"] == "orders"

    adopting = operator.deploy(one_resource("billing", {**queue("jobs", owner="billing"), "adopt": True}))
    assert operator.wait_for(adopting["id"], TERMINAL)["status"] == "completed"
    record = inventory(operator)["aws/us-east-1/queue/jobs"]
    assert record["stack"] == "billing" and record["tags"]["owner"] == "billing"
    assert "resource_adopted" in types(operator, adopting["id"])
    assert "resource_adopted" in types(operator, first["id"])

    # The old stack no longer owns it: rolling its deployment back leaves the adopted resource alone.
    assert operator.call("POST", f"/api/v1/deployments/{first['id']}/rollback").status == 200
    assert operator.wait_for(first["id"], {"rolled_back", "failed"})["status"] == "rolled_back"
    assert inventory(operator)["aws/us-east-1/queue/jobs"] == record
    assert "undo_skipped" in types(operator, first["id"])


def test_a_second_run_of_a_stack_updates_in_place_and_destroys_what_its_intent_dropped(operator: Api):
    first = operator.deploy(one_resource("shop", queue("orders"), queue("emails")))
    assert operator.wait_for(first["id"], TERMINAL)["status"] == "completed"
    after_first = inventory(operator)

    second = operator.deploy(one_resource("shop", queue("orders", tier="gold"), queue("invoices")))
    done = operator.wait_for(second["id"], TERMINAL)
    assert done["status"] == "completed", done["error_message"]
    actions = {s["resource_identifier"]: s["action"] for s in operator.steps(second["id"])}
    assert actions == {"aws/us-east-1/queue/orders": "update", "aws/us-east-1/queue/invoices": "create",
                       "aws/us-east-1/queue/emails": "destroy"}
    now = inventory(operator)
    assert set(now) == {"aws/us-east-1/queue/orders", "aws/us-east-1/queue/invoices"}
    orders = now["aws/us-east-1/queue/orders"]
    assert orders["id"] == after_first["aws/us-east-1/queue/orders"]["id"] and orders["tags"]["tier"] == "gold"
    assert {r["stack"] for r in now.values()} == {"shop"}

    # Rolling the second run back puts the stack exactly where the first run left it.
    assert operator.call("POST", f"/api/v1/deployments/{second['id']}/rollback").status == 200
    assert operator.wait_for(second["id"], {"rolled_back", "failed"})["status"] == "rolled_back"
    restored = inventory(operator)
    assert set(restored) == set(after_first)
    for identifier, record in after_first.items():
        assert {k: restored[identifier][k] for k in ("properties", "tags", "stack", "deployment_id")} == {
            k: record[k] for k in ("properties", "tags", "stack", "deployment_id")}


def test_a_resource_changed_after_the_plan_fails_the_apply_as_stale_and_is_left_as_changed(operator: Api, admin: Api):
    first = operator.deploy(one_resource("api", queue("requests")))
    assert operator.wait_for(first["id"], TERMINAL)["status"] == "completed"
    update = operator.deploy(one_resource("api", queue("requests", tier="gold"), auto_approve=False))
    operator.wait_for(update["id"], "awaiting_approval")

    record = inventory(operator)["aws/us-east-1/queue/requests"]
    patched = operator.call("PATCH", f"/api/v1/cloud/resources/{record['id']}", {"properties": {"size": "large"}})
    assert patched.status == 200
    changed = inventory(operator)["aws/us-east-1/queue/requests"]

    assert operator.call("POST", f"/api/v1/deployments/{update['id']}/approve").status == 200
    done = operator.wait_for(update["id"], TERMINAL)
    assert done["status"] == "rolled_back", done
    assert "StalePlan" in done["error_message"] and "changed by" in done["error_message"]
    assert inventory(operator)["aws/us-east-1/queue/requests"] == changed


def test_rollback_leaves_a_resource_somebody_changed_since_and_says_why(operator: Api):
    first = operator.deploy(one_resource(f"svc-{uuid.uuid4().hex[:6]}", queue("work")))
    assert operator.wait_for(first["id"], TERMINAL)["status"] == "completed"
    record = inventory(operator)["aws/us-east-1/queue/work"]
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{record['id']}", {"tags": {"team": "ops"}}).status == 200

    assert operator.call("POST", f"/api/v1/deployments/{first['id']}/rollback").status == 200
    assert operator.wait_for(first["id"], {"rolled_back", "failed"})["status"] == "rolled_back"
    assert inventory(operator)["aws/us-east-1/queue/work"]["tags"] == {"team": "ops"}
    skipped = [e for e in operator.events(first["id"]) if e["type"] == "undo_skipped"]
    assert len(skipped) == 1 and "changed since" in skipped[0]["detail"]["reason"]
