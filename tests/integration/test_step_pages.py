"""Reads stay small at any deployment size: GET /deployments/{id} is a bounded summary (counts, no step list) and
the steps and events are collections read a page at a time, through the local cloud's gateway on real PostgreSQL.
Deployments of thousands of steps are built through the repositories (tests/deployments_at_scale.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from api_client import Api
from deployments_at_scale import WAVES, stored_deployment

from orchestrator.adapters.postgres.pool import Database
from orchestrator.adapters.postgres.repositories import PgStepRepository
from orchestrator.domain.steps import StepRun
from orchestrator.planning.plan import PolicyFinding, PolicyReport

pytestmark = pytest.mark.integration

SUMMARY_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def reader(local_cloud) -> tuple[Api, str]:
    creds = local_cloud.admin_credentials()
    admin = Api(local_cloud).login(creds["username"], creds["password"])
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    return admin.create_user("viewer", tenant), tenant


@pytest.fixture(scope="module")
def cloud_db(local_cloud):
    database = Database(local_cloud.database_url, min_size=1, max_size=2, name="test-steps")
    yield database
    database.close()


@pytest.fixture(scope="module")
def big(cloud_db, reader) -> tuple[str, list[StepRun]]:
    """2,000 steps in 4 waves: 300 succeeded, 7 failed, the rest pending."""
    return stored_deployment(cloud_db, reader[1], 2000, succeeded=300, failed=7)


def order(step: dict[str, Any] | StepRun) -> tuple[int, int]:
    wave, step_id = (step["wave"], step["step_id"]) if isinstance(step, dict) else (step.wave, step.step_id)
    return wave, int(step_id[1:])


def test_the_summary_is_bounded_and_does_not_grow_with_the_step_count(reader, cloud_db, big):
    api, tenant = reader
    small_id, _ = stored_deployment(cloud_db, tenant, 20, succeeded=3, failed=0)
    small, large = api.call("GET", f"/api/v1/deployments/{small_id}"), api.call("GET", f"/api/v1/deployments/{big[0]}")
    assert small.status == large.status == 200
    sizes = [len(json.dumps(reply.body).encode()) for reply in (small, large)]
    assert sizes[1] <= SUMMARY_LIMIT
    # 100 times the steps, not 100 times the bytes: what differs is a risk reason and a cost finding the bigger
    # plan earns, and digits.
    assert sizes[1] - sizes[0] < 1024, sizes
    assert "step_results" not in large.body and "steps" not in large.body["plan"]
    assert "waves" not in large.body["plan"] and large.body["plan"]["truncated"] is False


def test_lists_that_grow_with_the_deployment_show_20_entries_and_say_how_many_there_are(reader, cloud_db):
    api, tenant = reader
    identifiers = [f"aws/us-east-1/compute/res-{i}" for i in range(2000)]
    warnings = [PolicyFinding(rule_id="tags.owner", message="no owner tag", resource_identifier=r,
                              severity="warn") for r in identifiers]
    radius = [{"resource": r, "action": "update", "dependents": [], "counts": {
        "total": 0, "by_provider": {}, "by_environment": {}}} for r in identifiers[:300]]
    results = [{"policy": "owner-tag", "policy_id": "p1", "enforcement": "advisory", "result": "advisory",
                "resources": identifiers}]
    deployment_id, _ = stored_deployment(cloud_db, tenant, 2000, plan_changes={
        "policy": PolicyReport(warnings=warnings), "blast_radius": radius, "policy_results": results})
    reply = api.call("GET", f"/api/v1/deployments/{deployment_id}")
    plan = reply.body["plan"]
    assert len(json.dumps(reply.body).encode()) <= SUMMARY_LIMIT
    assert plan["policy"]["warnings"] == [w.model_dump(mode="json") for w in warnings[:20]]
    assert len(plan["blast_radius"]) == 20 and len(plan["critical_path"]) == WAVES
    assert plan["policy_results"] == [{**results[0], "resources": identifiers[:10], "resource_count": 2000}]
    assert plan["truncated"] is True
    assert plan["totals"] == {"critical_path": WAVES, "policy_results": 1, "blast_radius": 300, "violations": 0,
                              "warnings": 2000, "overridable": 0, "phases": 200}
    # 200 rolling batches of 10: one entry for them all (the deployment's `phase` says which one runs)
    assert plan["phases"] == [{"name": "batch 1/200 … 200/200", "kind": "batch", "steps": 2000, "bake_seconds": None}]


def test_the_summary_counts_steps_by_status_and_action_and_links_the_collections(reader, big):
    api, _ = reader
    deployment_id, runs = big
    view = api.get(deployment_id)
    assert view["steps"] == {"total": 2000, "by_status": {"succeeded": 300, "failed": 7, "pending": 1693},
                             "by_action": {"create": 2000}, "applied": 300, "rolled_back": 0, "wave_count": WAVES,
                             "current_wave": None}  # only an executing deployment has a current wave
    assert view["plan"]["step_count"] == 2000 and view["plan"]["wave_count"] == WAVES
    assert view["progress_percentage"] == 15.0
    assert view["resource_count"] == 2000
    base = f"/api/v1/deployments/{deployment_id}"
    assert view["links"] == {"self": base, "steps": f"{base}/steps", "events": f"{base}/events",
                             "terraform": f"{base}/terraform"}


def test_paging_visits_every_step_once_in_wave_then_step_order(reader, big):
    api, _ = reader
    deployment_id, runs = big
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=300{f'&cursor={cursor}' if cursor else ''}"
        page = api.call("GET", f"/api/v1/deployments/{deployment_id}/steps{query}").body
        assert len(page["items"]) <= 300
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 7
    assert [s["step_id"] for s in seen] == [r.step_id for r in sorted(runs, key=order)]
    assert len({s["step_id"] for s in seen}) == 2000
    first = next(s for s in seen if s["step_id"] == "s1")
    assert first["status"] == "succeeded" and first["provider_resource_id"] == "i-s1"
    assert first["region"] == "us-east-1" and first["provider"] == "aws" and first["resource_type"] == "compute"
    assert first["estimated_duration_seconds"] > 0 and first["dependencies"] == []
    second = next(s for s in seen if s["step_id"] == "s2")
    assert second["dependencies"] == ["s1"] and second["wave"] == 1


def test_the_default_page_holds_100_steps(reader, big):
    api, _ = reader
    page = api.call("GET", f"/api/v1/deployments/{big[0]}/steps").body
    assert len(page["items"]) == 100 and page["next_cursor"]


def test_filters_by_status_and_wave_page_too(reader, big):
    api, _ = reader
    deployment_id, runs = big
    failed = api.steps(deployment_id, status="failed", limit=3)
    assert [s["step_id"] for s in failed] == [r.step_id for r in sorted(runs[300:307], key=order)]
    assert {s["error_message"] for s in failed} == {"quota exceeded"}
    wave_two = api.steps(deployment_id, wave=2, limit=150)
    assert [s["step_id"] for s in wave_two] == [r.step_id for r in sorted(runs, key=order) if r.wave == 2]
    both = api.steps(deployment_id, wave=0, status="succeeded")
    assert {s["step_id"] for s in both} == {r.step_id for r in runs[:300] if r.wave == 0}


@pytest.mark.parametrize("query, location", [
    ("cursor=not-a-cursor", "cursor"), ("cursor=eyJ3IjoxfQ", "cursor"), ("cursor=%25%25", "cursor"),
    ("status=done", "status"), ("wave=-1", "wave"), ("wave=two", "wave"), ("limit=0", "limit"),
    ("limit=-5", "limit"), ("limit=1001", "limit"), ("page=2", "page"),
])
def test_a_bad_query_parameter_gets_422_naming_it(reader, big, query, location):
    api, _ = reader
    reply = api.call("GET", f"/api/v1/deployments/{big[0]}/steps?{query}")
    assert reply.status == 422, reply.body
    assert location in {e["location"].split(".")[-1] for e in reply.body["details"]}, reply.body


def test_another_tenants_deployment_steps_are_unknown(local_cloud, big):
    creds = local_cloud.admin_credentials()
    stranger = Api(local_cloud).login(creds["username"], creds["password"]).create_user(
        "admin", f"t-{uuid.uuid4().hex[:10]}")
    for path in ("", "/steps", "/events"):
        assert stranger.call("GET", f"/api/v1/deployments/{big[0]}{path}").status == 404
    assert Api(local_cloud).call("GET", f"/api/v1/deployments/{big[0]}/steps").status == 401


def test_summary_etag_answers_304_until_a_step_changes(reader, cloud_db):
    api, tenant = reader
    deployment_id, runs = stored_deployment(cloud_db, tenant, 20)
    path = f"/api/v1/deployments/{deployment_id}"
    first = api.call("GET", path)
    tag = first.headers.get("ETag") or first.headers.get("etag")
    assert api.call("GET", path, headers={"If-None-Match": tag}).status == 304
    runs[5].begin_attempt()
    PgStepRepository(cloud_db).save(runs[5])  # running now: the counts move, so the summary is another version
    changed = api.call("GET", path, headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.body["steps"]["by_status"]["running"] == 1


def test_events_page_through_the_whole_audit_trail(reader, big):
    api, _ = reader
    every = api.events(big[0])
    assert [e["type"] for e in every] == ["created", "planning_started", "plan_generated"]
    first = api.call("GET", f"/api/v1/deployments/{big[0]}/events?limit=2").body
    assert [e["type"] for e in first["items"]] == ["created", "planning_started"] and first["next_cursor"]
    rest = api.call("GET", f"/api/v1/deployments/{big[0]}/events?limit=2&cursor={first['next_cursor']}").body
    assert [e["type"] for e in rest["items"]] == ["plan_generated"] and rest["next_cursor"] is None
    assert api.call("GET", f"/api/v1/deployments/{big[0]}/events?limit=1001").status == 422
    assert api.call("GET", f"/api/v1/deployments/{big[0]}/events?cursor=eyJ3IjoxLCJzIjoiczEifQ").status == 422
