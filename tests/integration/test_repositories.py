"""The PostgreSQL repositories against a real server: round trips of data, tenant isolation, optimistic concurrency,
audit atomicity, idempotency, fencing, and behaviour while the server is down.

Redis stopping (`LockStoreUnavailable` from the lock manager) is covered by
tests/integration/test_locks.py::test_redis_stopped_means_lock_store_unavailable_then_recovers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from waits import wait_until_healthy

from orchestrator.adapters.postgres.inventory import PgInventory, PgResultStore
from orchestrator.adapters.postgres.pool import Database
from orchestrator.adapters.postgres.repositories import (
    PgDeploymentRepository,
    PgDriftRepository,
    PgStepRepository,
    PgUserRepository,
)
from orchestrator.adapters.postgres.roundtrips import count_round_trips
from orchestrator.cloud.simulator import ApplyOutcome, SimulatedProvider, resource_uuid
from orchestrator.domain.errors import (
    ConcurrencyConflict,
    DatabaseUnavailable,
    StaleFencingToken,
)
from orchestrator.domain.intent import DeploymentIntent, ResourceSpec, validate_intent
from orchestrator.domain.lifecycle import EVENT_ON_ENTER, Deployment, DeploymentStatus, DomainEvent, EventType, utcnow
from orchestrator.domain.resources import CloudResource
from orchestrator.domain.steps import StepRun, StepStatus
from orchestrator.domain.users import Role, User
from orchestrator.drift.report import DriftItem, DriftReport, DriftSeverity, DriftType
from orchestrator.planning import Plan, build_plan
from orchestrator.ports.locks import resource_lock
from orchestrator.ports.repositories import DeploymentSummary

pytestmark = pytest.mark.integration

S = DeploymentStatus
T1, T2 = "tenant-1", "tenant-2"


# Builders ------------------------------------------------------------------------------------------------------------


def resource(name: str, *deps: str, **properties: Any) -> dict[str, Any]:
    return {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": name,
            "properties": properties or {"size": "small"}, "tags": {"owner": "team-a"},
            "dependencies": [f"aws/us-east-1/compute/{d}" for d in deps]}


def make_intent(*resources: dict[str, Any], environment: str = "development", name: str = "checkout"
                ) -> DeploymentIntent:
    return validate_intent({"name": name, "description": "repository test", "target_providers": ["aws"],
                            "resources": list(resources) or [resource("web")], "environment": environment})


def new_deployment(tenant: str = T1, the_intent: DeploymentIntent | None = None) -> Deployment:
    return Deployment.create(the_intent or make_intent(), tenant_id=tenant, initiated_by="alice",
                             correlation_id="create")


def step_runs(deployment: Deployment, plan: Plan) -> list[StepRun]:
    """The step rows the planning task stores with its plan."""
    return [StepRun(step_id=s.step_id, deployment_id=deployment.id, tenant_id=deployment.tenant_id,
                    idempotency_key=s.idempotency_key, name=s.name, action=s.action.value, wave=s.wave,
                    resource_identifier=s.resource_identifier, resource=s.resource) for s in plan.steps]


def plan_for(deployment: Deployment) -> tuple[Plan, list[StepRun]]:
    plan = build_plan(deployment.intent, deployment_id=deployment.id)
    return plan, step_runs(deployment, plan)


def scalar(db: Database, query: str, *args: Any) -> Any:
    with db.connection() as conn:
        return conn.execute(query, args).fetchone()[0]


def event_types(deployments: PgDeploymentRepository, deployment_id: str) -> list[str]:
    return [e.type.value for e in deployments.events(deployment_id)]


@pytest.fixture
def deployments(db) -> PgDeploymentRepository:
    return PgDeploymentRepository(db)


@pytest.fixture
def steps(db) -> PgStepRepository:
    return PgStepRepository(db)


def planned(deployments: PgDeploymentRepository, the_intent: DeploymentIntent | None = None
            ) -> tuple[Deployment, Plan, list[StepRun]]:
    """A stored deployment in `planned`, with its plan and steps, as the planning task leaves it (version 2)."""
    deployment = deployments.add(new_deployment(the_intent=the_intent))
    deployment.transition(S.PLANNING, actor="workflow", correlation_id="plan")
    plan, runs = plan_for(deployment)
    deployment.plan_id = plan.plan_id
    deployment.transition(S.PLANNED, actor="workflow", correlation_id="plan")
    deployments.save(deployment, plan=plan, steps=runs)
    return deployment, plan, runs


# Deployments: round trip, listing, tenants -------------------------------------------------------------------------


def test_added_deployment_loads_back_equal_at_version_1_with_its_created_event(deployments):
    deployment = new_deployment(the_intent=make_intent(resource("db"), resource("web", "db"), environment="staging"))
    created_event = deployment.pending_events

    stored = deployments.add(deployment)

    assert stored.version == 1 and stored.pending_events == []
    loaded = deployments.get(deployment.id, tenant_id=T1)
    assert loaded == stored
    assert (loaded.intent, loaded.status, loaded.version) == (deployment.intent, S.PENDING, 1)
    assert deployments.status(deployment.id) == S.PENDING
    assert deployments.events(deployment.id) == created_event
    assert event_types(deployments, deployment.id) == ["created"]


def test_list_filters_by_status_and_environment_and_pages_newest_first_with_the_total(deployments):
    created = []
    for environment in ("development", "development", "staging", "development", "staging"):
        created.append(deployments.add(new_deployment(the_intent=make_intent(environment=environment))))
    for deployment in created[:2]:
        deployment.transition(S.PLANNING, actor="workflow", correlation_id="c")
        deployments.save(deployment)
    deployments.add(new_deployment(tenant=T2))
    newest_first = [d.id for d in reversed(created)]

    everything = deployments.list(T1)
    assert [s.id for s in everything.items] == newest_first and everything.total == 5
    assert everything.items[0] == DeploymentSummary.of(deployments.get(created[-1].id))

    planning = deployments.list(T1, status=S.PLANNING)
    assert {s.id for s in planning.items} == {created[0].id, created[1].id} and planning.total == 2
    staging = deployments.list(T1, environment="staging")
    assert [s.id for s in staging.items] == [created[4].id, created[2].id] and staging.total == 2
    both = deployments.list(T1, status=S.PENDING, environment="development")
    assert [s.id for s in both.items] == [created[3].id] and both.total == 1

    pages = [deployments.list(T1, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [s.id for page in pages for s in page.items] == newest_first
    assert [len(page.items) for page in pages] == [2, 2, 1] and {page.total for page in pages} == {5}
    past_the_end = deployments.list(T1, limit=2, offset=10)
    assert past_the_end.items == [] and past_the_end.total == 5
    assert deployments.list("nobody").total == 0


def test_another_tenant_neither_gets_nor_lists_a_deployment(deployments):
    mine = deployments.add(new_deployment(tenant=T1))
    theirs = deployments.add(new_deployment(tenant=T2))

    assert deployments.get(mine.id, tenant_id=T2) is None
    assert deployments.get(theirs.id, tenant_id=T1) is None
    assert deployments.get(mine.id) is not None  # the workflow reads without a tenant
    assert [s.id for s in deployments.list(T1).items] == [mine.id]
    assert [s.id for s in deployments.list(T2).items] == [theirs.id]


def test_unknown_or_malformed_ids_find_nothing(deployments, steps):
    missing = "00000000-0000-4000-8000-000000000000"
    for deployment_id in (missing, "not-a-uuid", "' OR 1=1 --"):
        assert deployments.get(deployment_id) is None
        assert deployments.status(deployment_id) is None
        assert deployments.get_plan(deployment_id) is None
        assert deployments.approval_token(deployment_id) is None
        assert deployments.events(deployment_id) == []
        assert steps.get(deployment_id, "s1") is None
        assert steps.list(deployment_id) == []


# Deployments: optimistic concurrency and the audit trail -----------------------------------------------------------


def test_two_concurrent_saves_of_one_version_let_exactly_one_win(deployments):
    for _ in range(10):  # several rounds: each one a real race between two connections
        stored = deployments.add(new_deployment())
        copies = [deployments.get(stored.id), deployments.get(stored.id)]
        copies[0].transition(S.PLANNING, actor="first", correlation_id="first")
        copies[1].transition(S.CANCELLED, actor="second", correlation_id="second")
        barrier = threading.Barrier(2)

        def save(copy: Deployment, barrier: threading.Barrier = barrier) -> Deployment | ConcurrencyConflict:
            barrier.wait(timeout=10)
            try:
                return deployments.save(copy)
            except ConcurrencyConflict as conflict:
                return conflict

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(save, copies))

        winners = [o for o in outcomes if isinstance(o, Deployment)]
        assert len(winners) == 1 and sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
        winner = winners[0]
        loaded = deployments.get(stored.id)
        assert loaded.version == 2 == winner.version and loaded.status == winner.status
        # The loser's audit row was never written: only the creation and the winner's transition are there.
        winning_actor = "first" if winner.status == S.PLANNING else "second"
        assert [(e.type, e.actor, e.to_status) for e in deployments.events(stored.id)] == [
            (EventType.CREATED, "alice", None), (EVENT_ON_ENTER[winner.status], winning_actor, winner.status)]


def test_conflicting_save_leaves_no_event_row_and_a_successful_one_exactly_its_events(deployments, db):
    stored = deployments.add(new_deployment())
    stale = deployments.get(stored.id)

    fresh = deployments.get(stored.id)
    planning = fresh.transition(S.PLANNING, actor="workflow", correlation_id="won")
    fresh.record(EventType.PLAN_GENERATED, actor="workflow", correlation_id="won", detail={"note": "recorded"})
    recorded = fresh.pending_events
    saved = deployments.save(fresh)
    assert saved.version == 2 and saved.pending_events == []
    assert deployments.events(stored.id)[1:] == recorded and recorded[0] == planning

    stale.transition(S.CANCELLED, actor="late", correlation_id="lost")
    with pytest.raises(ConcurrencyConflict):
        deployments.save(stale)
    assert stale.version == 1 and len(stale.pending_events) == 1  # untouched: a caller may reload and retry
    assert deployments.get(stored.id).status == S.PLANNING
    assert scalar(db, "SELECT count(*) FROM deployment_events WHERE correlation_id = 'lost'") == 0
    assert scalar(db, "SELECT count(*) FROM deployment_events WHERE deployment_id = %s", stored.id) == 3

    # Audit events that change no state are appended without touching the version.
    step_event = DomainEvent(type=EventType.STEP_SUCCEEDED, deployment_id=stored.id, at=utcnow(), actor="workflow",
                             correlation_id="step", detail={"step_id": "s1"})
    deployments.append_events([step_event], T1)
    assert deployments.events(stored.id)[-1] == step_event and deployments.get(stored.id).version == 2


def test_state_change_is_not_committed_when_its_audit_row_cannot_be_written(deployments):
    stored = deployments.add(new_deployment())
    # The events table rejects an empty actor: the status change travelling with that event must not land either.
    stored.transition(S.PLANNING, actor="", correlation_id="bad")
    with pytest.raises(psycopg.errors.CheckViolation):
        deployments.save(stored)

    loaded = deployments.get(stored.id)
    assert (loaded.status, loaded.version) == (S.PENDING, 1)
    assert event_types(deployments, stored.id) == ["created"]


def test_ids_in_status_pages_through_every_tenant_by_id(deployments):
    ids = sorted((deployments.add(new_deployment(tenant=t)).id, t) for t in (T1, T2, T1))
    assert deployments.ids_in_status(S.PENDING) == ids
    assert deployments.ids_in_status(S.PENDING, limit=2) == ids[:2]
    assert deployments.ids_in_status(S.PENDING, after=ids[1][0]) == ids[2:]
    assert deployments.ids_in_status(S.EXECUTING) == []


# Deployments: idempotent creation ----------------------------------------------------------------------------------


def test_second_add_with_the_same_idempotency_key_returns_the_first_and_inserts_nothing(deployments, db):
    first = deployments.add(new_deployment(), idempotency_key="key-1")
    repeat = new_deployment(the_intent=make_intent(name="another-body"))

    answer = deployments.add(repeat, idempotency_key="key-1")

    assert answer == deployments.get(first.id) and answer.id == first.id and answer.intent.name == "checkout"
    assert deployments.get(repeat.id) is None
    assert scalar(db, "SELECT count(*) FROM deployments") == 1
    assert event_types(deployments, first.id) == ["created"]
    assert scalar(db, "SELECT count(*) FROM deployment_events") == 1


def test_concurrent_adds_with_one_idempotency_key_create_one_deployment(deployments, db):
    barrier = threading.Barrier(8)

    def add(_: int) -> str:
        deployment = new_deployment()
        barrier.wait(timeout=10)
        return deployments.add(deployment, idempotency_key="same-key").id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(add, range(8)))

    assert len(ids) == 1
    assert scalar(db, "SELECT count(*) FROM deployments") == 1
    assert scalar(db, "SELECT count(*) FROM deployment_events") == 1


def test_idempotency_keys_are_scoped_per_tenant_and_absent_keys_never_collide(deployments, db):
    mine = deployments.add(new_deployment(tenant=T1), idempotency_key="k")
    theirs = deployments.add(new_deployment(tenant=T2), idempotency_key="k")
    assert mine.id != theirs.id and deployments.get(theirs.id, tenant_id=T2) is not None
    deployments.add(new_deployment(tenant=T1))
    deployments.add(new_deployment(tenant=T1))
    assert scalar(db, "SELECT count(*) FROM deployments") == 4


# Plans and steps -------------------------------------------------------------------------------------------------


def test_save_with_plan_and_steps_round_trips_the_plan_and_lists_steps_by_wave(deployments, steps):
    # Intent order is not wave order: "web" (s1) waits for "api" (s2), which waits for "db" (s3).
    the_intent = make_intent(resource("web", "api"), resource("api", "db"), resource("db"), resource("cache"))
    deployment, plan, runs = planned(deployments, the_intent)

    assert deployments.get(deployment.id).version == 2  # one save took it through planning to planned
    assert deployments.get(deployment.id).plan_id == plan.plan_id
    assert deployments.get_plan(deployment.id) == plan
    listed = steps.list(deployment.id)
    assert [(s.step_id, s.wave) for s in listed] == [("s3", 0), ("s4", 0), ("s2", 1), ("s1", 2)]
    assert sorted(listed, key=lambda s: s.step_id) == sorted(runs, key=lambda s: s.step_id)
    assert steps.get(deployment.id, "s2") == next(s for s in runs if s.step_id == "s2")

    # A new plan replaces the steps; a save without steps leaves them alone.
    deployment.transition(S.CANCELLED, actor="bob", correlation_id="c")
    deployments.save(deployment)
    deployment.transition(S.PENDING, actor="bob", correlation_id="c")
    deployments.save(deployment)
    assert steps.list(deployment.id) == listed and deployments.get_plan(deployment.id) == plan
    deployment.transition(S.PLANNING, actor="workflow", correlation_id="c")
    smaller = build_plan(make_intent(resource("solo")), deployment_id=deployment.id)
    deployments.save(deployment, plan=smaller, steps=step_runs(deployment, smaller))
    assert deployments.get_plan(deployment.id) == smaller
    assert [s.resource_identifier for s in steps.list(deployment.id)] == ["aws/us-east-1/compute/solo"]


def test_conflicting_save_with_a_plan_keeps_the_stored_plan_and_steps(deployments, steps, db):
    deployment, plan, runs = planned(deployments)
    stale = deployments.get(deployment.id)
    deployment.transition(S.CANCELLED, actor="bob", correlation_id="c")
    deployments.save(deployment)

    stale.transition(S.EXECUTING, actor="workflow", correlation_id="lost")
    other = build_plan(make_intent(resource("other")), deployment_id=deployment.id)
    with pytest.raises(ConcurrencyConflict):
        deployments.save(stale, plan=other, steps=step_runs(stale, other))

    assert deployments.get_plan(deployment.id) == plan
    assert steps.list(deployment.id) == runs
    assert scalar(db, "SELECT count(*) FROM deployment_events WHERE correlation_id = 'lost'") == 0
    with db.connection() as conn:  # the pooled connection went back clean, not inside an aborted transaction
        assert conn.info.transaction_status.name == "IDLE"


def test_step_saved_under_its_lease_records_the_attempt_and_result(deployments, steps, lock_manager):
    deployment, _, runs = planned(deployments)
    step = runs[0]
    with lock_manager.hold(resource_lock(step.tenant_id, step.resource_identifier)) as lease:
        step.begin_attempt()
        steps.save(step, lease=lease)
        assert steps.get(deployment.id, step.step_id).status == StepStatus.RUNNING
        step.result = {"operation": "apply", "action": "created"}
        step.succeed("i-0123")
        steps.save(step, lease=lease)  # the same holder writes again with its own token

    loaded = steps.get(deployment.id, step.step_id)
    assert loaded == step
    assert (loaded.status, loaded.attempt, loaded.provider_resource_id) == (StepStatus.SUCCEEDED, 1, "i-0123")
    assert loaded.started_at is not None and loaded.finished_at >= loaded.started_at


def test_step_save_under_an_older_lease_after_a_newer_holder_wrote_is_rejected_and_changes_nothing(
        deployments, steps, lock_manager):
    deployment, _, runs = planned(deployments)
    name = resource_lock(runs[0].tenant_id, runs[0].resource_identifier)

    stalled = lock_manager.acquire(name, ttl_seconds=0.2)
    slow = steps.get(deployment.id, runs[0].step_id)
    slow.begin_attempt()
    steps.save(slow, lease=stalled)
    time.sleep(0.3)  # the holder stalls past its TTL; someone else takes the resource and finishes the step
    successor = lock_manager.acquire(name)
    assert successor.fence > stalled.fence
    current = steps.get(deployment.id, runs[0].step_id)
    current.fail("first attempt lost")
    current.begin_attempt()
    current.succeed("i-new")
    steps.save(current, lease=successor)

    slow.fail("late writer")
    with pytest.raises(StaleFencingToken):
        steps.save(slow, lease=stalled)

    assert steps.get(deployment.id, runs[0].step_id) == current
    lock_manager.release(successor)


# Approval task token -----------------------------------------------------------------------------------------------


def test_approval_token_is_stored_cleared_and_never_part_of_get_or_list(deployments):
    deployment, _, _ = planned(deployments)
    token = "AAAAKgAAAAIAAAAAAAAAAQ-secret-task-token"
    deployment.transition(S.AWAITING_APPROVAL, actor="workflow", correlation_id="c")
    deployments.save(deployment, task_token=token)
    assert deployments.approval_token(deployment.id) == token

    deployment.record(EventType.APPROVAL_REQUESTED, actor="workflow", correlation_id="again")
    deployments.save(deployment)  # without task_token: left as it is
    assert deployments.approval_token(deployment.id) == token

    for shown in (deployments.get(deployment.id), deployments.get(deployment.id, tenant_id=T1),
                  deployments.list(T1), deployments.list(T1, status=S.AWAITING_APPROVAL)):
        assert token not in repr(shown) and token not in str(shown)
    assert token not in deployments.get(deployment.id).model_dump_json()
    assert all(token not in e.model_dump_json() for e in deployments.events(deployment.id))

    deployment.transition(S.APPROVED, actor="bob", correlation_id="c")
    deployments.save(deployment, task_token=None)
    assert deployments.approval_token(deployment.id) is None


# Drift reports and users -----------------------------------------------------------------------------------------


def drift_report(deployment_id: str, tenant: str = T1, **extra: Any) -> DriftReport:
    return DriftReport(tenant_id=tenant, deployment_id=deployment_id, scan_type="manual", items=[
        DriftItem(drift_type=DriftType.PROPERTY_CHANGED, resource_identifier="aws/us-east-1/compute/web",
                  property_path="properties.size", expected_value="small", actual_value="large",
                  severity=DriftSeverity.MEDIUM),
        DriftItem(drift_type=DriftType.RESOURCE_REMOVED, resource_identifier="aws/us-east-1/compute/db",
                  expected_value={"properties": {"size": "small", "count": 2}, "tags": {"owner": "a"}},
                  actual_value=None, severity=DriftSeverity.CRITICAL),
        DriftItem(drift_type=DriftType.TAG_CHANGED, resource_identifier="aws/us-east-1/compute/web",
                  property_path="tags.owner", expected_value="a", actual_value=None, severity=DriftSeverity.LOW),
    ], **extra)


def test_drift_report_round_trips_with_its_items_in_order_and_stays_within_its_tenant(deployments, db):
    deployment = deployments.add(new_deployment())
    other = deployments.add(new_deployment())
    report = drift_report(deployment.id)
    drift = PgDriftRepository(db)

    assert drift.add(report) == report
    assert drift.get(report.id) == report and drift.get(report.id, tenant_id=T1) == report
    assert drift.get(report.id, tenant_id=T2) is None and drift.get("not-a-uuid") is None

    later = drift.add(drift_report(other.id))
    empty = drift.add(DriftReport(tenant_id=T1, deployment_id=deployment.id))
    assert [r.id for r in drift.list(T1)] == [empty.id, later.id, report.id]
    assert drift.list(T1, deployment_id=deployment.id) == [empty, report]
    assert [r.id for r in drift.list(T1, limit=1)] == [empty.id]
    assert drift.list(T2) == [] and drift.list(T1, deployment_id="not-a-uuid") == []

    remediation = deployments.add(new_deployment())
    drift.set_remediation(report.id, remediation.id)
    assert scalar(db, "SELECT remediation_deployment_id::text FROM drift_reports WHERE id = %s",
                  report.id) == remediation.id


def test_user_round_trips_and_login_lookup_ignores_username_case(db):
    users = PgUserRepository(db)
    alice = User(username="Alice", email="alice@example.com", role=Role.OPERATOR, tenant_id=T1)
    assert users.add(alice, "argon2-hash") == alice

    assert users.get(alice.id) == alice
    assert users.get_with_password("alice") == (alice, "argon2-hash")
    assert users.get_with_password("ALICE") == (alice, "argon2-hash")
    assert users.get_with_password("bob") is None
    assert users.get("not-a-uuid") is None
    assert users.count() == 1


def test_taken_username_in_any_case_is_a_concurrency_conflict_and_inserts_nothing(db):
    users = PgUserRepository(db)
    users.add(User(username="alice", email="alice@example.com"), "hash-1")
    with pytest.raises(ConcurrencyConflict):
        users.add(User(username="ALICE", email="other@example.com", tenant_id=T2), "hash-2")
    assert users.count() == 1
    assert users.get_with_password("Alice")[1] == "hash-1"


# Inventory and provider operations ---------------------------------------------------------------------------------


def cloud_resource(name: str = "web", tenant: str = T1, **extra: Any) -> CloudResource:
    fields = {"provider_resource_id": f"i-{name}", "properties": {"size": "small", "network": {"cidr": "a"}},
              "tags": {"owner": "a"}, **extra}
    return CloudResource(tenant_id=tenant, provider="aws", region="us-east-1", resource_type="compute", name=name,
                         **fields)


def test_inventory_upsert_get_list_patch_delete(db, deployments):
    inventory = PgInventory(db)
    owner = deployments.add(new_deployment())
    web = cloud_resource("web", deployment_id=owner.id)

    stored = inventory.upsert(web)
    assert stored.model_dump(exclude={"updated_at"}) == web.model_dump(exclude={"updated_at"})
    assert inventory.get(T1, web.identifier) == stored == inventory.get_by_id(T1, web.id)
    assert inventory.get(T2, web.identifier) is None and inventory.get_by_id(T2, web.id) is None
    assert inventory.get_by_id(T1, "not-a-uuid") is None

    # Upsert at the same address replaces what the cloud holds there and keeps the record's id.
    replaced = inventory.upsert(cloud_resource("web", properties={"size": "large"}))
    assert replaced.id == web.id and replaced.properties == {"size": "large"} and replaced.deployment_id is None
    console = inventory.upsert(cloud_resource("console-made", provider_resource_id="i-x"))
    inventory.upsert(cloud_resource("elsewhere", tenant=T2))
    assert [r.name for r in inventory.list(T1)] == ["console-made", "web"]
    owned = inventory.upsert(cloud_resource("owned", deployment_id=owner.id))
    assert inventory.list(T1, deployment_id=owner.id) == [owned]
    assert inventory.list(T1, deployment_id="not-a-uuid") == []

    patched = inventory.patch(T1, console.id, properties={"size": "xlarge", "extra": True}, tags={"team": "b"})
    assert patched.properties == {"size": "xlarge", "network": {"cidr": "a"}, "extra": True}
    assert patched.tags == {"team": "b"} and patched.updated_at >= console.updated_at
    assert inventory.patch(T1, console.id, properties={"count": 2}).tags == {"team": "b"}  # tags None: kept
    assert inventory.patch(T2, console.id, properties={"x": 1}) is None
    assert inventory.patch(T1, "not-a-uuid") is None

    assert inventory.delete(T2, console.identifier) is False
    assert inventory.delete(T1, console.identifier) is True
    assert inventory.delete(T1, console.identifier) is False
    assert inventory.get(T1, console.identifier) is None


def test_result_store_keeps_the_first_result_even_under_concurrent_puts(db):
    results = PgResultStore(db)
    assert results.get("k1") is None
    assert results.put_if_absent("k1", {"n": 1}) == {"n": 1}
    assert results.put_if_absent("k1", {"n": 2}) == {"n": 1}
    assert results.get("k1") == {"n": 1}

    barrier = threading.Barrier(8)

    def put(n: int) -> dict[str, Any]:
        barrier.wait(timeout=10)
        return results.put_if_absent("k2", {"n": n})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(put, range(8)))
    assert len({a["n"] for a in answers}) == 1 and results.get("k2") == answers[0]
    assert scalar(db, "SELECT count(*) FROM provider_operations") == 2


def _race_duplicate_applies(db: Database, providers: list[SimulatedProvider], rounds: int,
                            first_actions: frozenset[str] = frozenset({"created"})) -> None:
    """Each round, every provider applies one spec with one idempotency key at the same moment: all must answer
    with the first outcome, and the round leaves one resource and one recorded operation."""
    for round_ in range(rounds):
        spec = ResourceSpec(provider="aws", resource_type="storage", region="us-east-1", name=f"logs-{round_}",
                            properties={"versioning": True, "simulate": {"latency_ms": 1}}, tags={"team": "a"})

        def apply(provider: SimulatedProvider, spec: ResourceSpec = spec, key: str = f"step-key-{round_}"
                  ) -> ApplyOutcome | Exception:
            try:
                return provider.apply(tenant_id=T1, deployment_id="00000000-0000-4000-8000-000000000001",
                                      spec=spec, idempotency_key=key, attempt=1)
            except Exception as exc:  # noqa: BLE001 - reported as an outcome
                return exc

        with ThreadPoolExecutor(max_workers=len(providers)) as pool:
            outcomes = list(pool.map(apply, providers))

        assert [o for o in outcomes if isinstance(o, Exception)] == []
        assert len({o.model_dump_json() for o in outcomes}) == 1
        first = outcomes[0]
        assert first.action in first_actions and first.resource_id == resource_uuid(T1, spec.identifier)
        assert scalar(db, "SELECT count(*) FROM cloud_resources") == round_ + 1
        assert scalar(db, "SELECT count(*) FROM provider_operations") == round_ + 1
        assert scalar(db, "SELECT result->>'resource_id' FROM provider_operations WHERE idempotency_key = %s",
                      f"step-key-{round_}") == first.resource_id


def test_twenty_concurrent_duplicate_applies_with_one_key_create_exactly_one_resource(db):
    barrier = threading.Barrier(20)
    # Every call checks the result store, then all wait here (the injected latency) and apply at once.
    provider = SimulatedProvider(PgInventory(db), PgResultStore(db), sleep=lambda _: barrier.wait(timeout=10))
    _race_duplicate_applies(db, [provider] * 20, rounds=3)


def test_twenty_duplicate_applies_from_separate_processes_create_exactly_one_resource(database_url):
    """No in-process lock to lean on: twenty provider instances, each with a pool of its own, as twenty Lambda
    instances would run one retried step. Only the database keeps them to one resource and one recorded outcome.
    (A losing insert can trip over the record's primary key rather than its address; that race is rare here, and
    made certain by the next test.)"""
    barrier = threading.Barrier(20)
    pools = [Database(database_url, min_size=1, max_size=1, pool_timeout_seconds=10, name=f"p{i}") for i in range(20)]
    try:
        providers = [SimulatedProvider(PgInventory(p), PgResultStore(p), sleep=lambda _: barrier.wait(timeout=10))
                     for p in pools]
        # Without the in-process lock, a caller that read the record its twin had just created ("unchanged") may
        # be the one whose outcome is recorded first; either way every caller gets that same first outcome.
        _race_duplicate_applies(pools[0], providers, rounds=20, first_actions=frozenset({"created", "unchanged"}))
    finally:
        for p in pools:
            p.close()


def test_record_committed_at_the_address_while_an_upsert_waits_is_updated_not_a_key_error(db, database_url):
    """The race the test above can hit, made certain. Another writer holds an uncommitted row with the record's id
    (deterministic per address); our upsert finds nothing at the address, inserts and waits on that id; the writer
    moves its row to the address and commits. The primary key, not the address, is what our insert then collides
    with, which ON CONFLICT does not absorb: the upsert must still end up updating the record."""
    inventory = PgInventory(db)
    record = cloud_resource("raced")
    other_writer = psycopg.connect(database_url)
    try:
        other_writer.execute(
            "INSERT INTO cloud_resources (id, tenant_id, provider, region, resource_type, name, resource_identifier, "
            "provider_resource_id) VALUES (%s, %s, 'aws', 'us-east-1', 'compute', 'raced', 'elsewhere', 'i-first')",
            (record.id, T1))
        with ThreadPoolExecutor(max_workers=1) as pool:
            upsert = pool.submit(inventory.upsert, record)
            _wait_for_statement(database_url, "transactionid", "%INSERT INTO cloud_resources")
            other_writer.execute("UPDATE cloud_resources SET resource_identifier = %s WHERE id = %s",
                                 (record.identifier, record.id))
            other_writer.commit()
            stored = upsert.result(timeout=10)
    finally:
        other_writer.close()
    assert stored.id == record.id and stored.provider_resource_id == "i-raced"
    assert scalar(db, "SELECT count(*) FROM cloud_resources") == 1


def test_upsert_reusing_the_id_of_a_record_at_another_address_still_fails(db):
    """The primary-key collision is retried once for the race above; a real clash of two records stays an error."""
    inventory = PgInventory(db)
    first = inventory.upsert(cloud_resource("first"))
    with pytest.raises(psycopg.errors.UniqueViolation):
        inventory.upsert(cloud_resource("second", id=first.id))
    assert [r.name for r in inventory.list(T1)] == ["first"]


# Round trips ---------------------------------------------------------------------------------------------------------


def test_repository_calls_stay_within_three_round_trips_whatever_the_size(db, deployments, steps, lock_manager):
    def trips(call) -> int:
        for _ in range(6):  # past psycopg's prepare threshold, as on a warm connection
            call()
        with count_round_trips(db) as counted:
            call()
        return counted.count

    many = make_intent(*(resource(f"r{i}", *([f"r{i - 1}"] if i % 3 else [])) for i in range(120)))
    small, _, _ = planned(deployments)
    large, _, large_runs = planned(deployments, many)
    for _ in range(60):
        deployments.add(new_deployment())

    def load(deployment_id: str):
        return lambda: (deployments.get(deployment_id, tenant_id=T1), deployments.get_plan(deployment_id),
                        steps.list(deployment_id))

    assert trips(lambda: deployments.add(new_deployment(), idempotency_key=None)) == 1
    assert trips(load(small.id)) == trips(load(large.id)) == 3
    assert trips(lambda: deployments.list(T1, limit=10)) == trips(lambda: deployments.list(T1, limit=50)) == 1

    def transition():
        deployment = deployments.add(new_deployment())
        deployment.transition(S.PLANNING, actor="workflow", correlation_id="c")
        return deployment

    prepared = [transition() for _ in range(7)]
    assert trips(lambda: deployments.save(prepared.pop())) == 1

    step = large_runs[5]
    with lock_manager.hold(resource_lock(step.tenant_id, step.resource_identifier)) as lease:
        step.begin_attempt()
        step.succeed("i-1")
        assert trips(lambda: steps.save(step, lease=lease)) <= 2


# PostgreSQL down -----------------------------------------------------------------------------------------------------


def _wait_for_statement(conninfo: str, wait_event: str, query_pattern: str, timeout: float = 10.0) -> None:
    """Until a session of this database waits on `wait_event` in a statement LIKE `query_pattern` || '%'."""
    with psycopg.connect(conninfo, autocommit=True) as watcher:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = %s AND query LIKE %s "
                "AND datname = current_database()", (wait_event, query_pattern + "%")).fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError(f"no session reached {wait_event} in {query_pattern!r}")


def test_stopped_postgres_raises_database_unavailable_and_leaves_nothing_half_written(server_control, database_url):
    with Database(database_url, min_size=1, max_size=4, connect_timeout_seconds=1, pool_timeout_seconds=1) as db:
        deployments, steps, inventory = PgDeploymentRepository(db), PgStepRepository(db), PgInventory(db)
        fresh = deployments.add(new_deployment())
        replanned, plan, runs = planned(deployments)
        for status in (S.CANCELLED, S.PENDING):
            replanned.transition(status, actor="bob", correlation_id="c")
            deployments.save(replanned)
        version_before, events_before = replanned.version, deployments.events(replanned.id)

        # One save is mid-transaction when the server goes: its status change and events are written, and it is
        # replacing the steps, which a trigger of this test's database makes take a while.
        with db.connection() as conn:
            conn.execute("""
                CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
                CREATE TRIGGER stall BEFORE DELETE ON deployment_steps EXECUTE FUNCTION stall()""")
        replanned.transition(S.PLANNING, actor="workflow", correlation_id="in-flight")
        other = build_plan(make_intent(resource("other")), deployment_id=replanned.id)
        outcome: list[BaseException | None] = []

        def in_flight_save() -> None:
            try:
                deployments.save(replanned, plan=other, steps=step_runs(replanned, other))
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread
                outcome.append(exc)

        thread = threading.Thread(target=in_flight_save)
        thread.start()
        _wait_for_statement(database_url, "PgSleep", "DELETE FROM deployment_steps")
        server_control.stop_postgres()
        thread.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], DatabaseUnavailable), outcome

        # While it is down, every repository call fails fast with the distinct error.
        fresh.transition(S.PLANNING, actor="workflow", correlation_id="during-outage")
        started = time.monotonic()
        calls = [
            lambda: deployments.get(fresh.id),
            lambda: deployments.list(T1),
            lambda: deployments.save(fresh),
            lambda: deployments.add(new_deployment()),
            lambda: steps.list(replanned.id),
            lambda: inventory.get(T1, "aws/us-east-1/compute/web"),
        ]
        for call in calls:
            with pytest.raises(DatabaseUnavailable):
                call()
        assert time.monotonic() - started < len(calls) * 3
        assert fresh.version == 1 and len(fresh.pending_events) == 1  # nothing recorded as saved

        server_control.start_postgres()
        wait_until_healthy(db)
        with db.connection() as conn:
            conn.execute("DROP TRIGGER stall ON deployment_steps")

        loaded = deployments.get(fresh.id)
        assert (loaded.status, loaded.version) == (S.PENDING, 1)
        assert event_types(deployments, fresh.id) == ["created"]
        loaded = deployments.get(replanned.id)
        assert (loaded.status, loaded.version, loaded.plan_id) == (S.PENDING, version_before, plan.plan_id)
        assert deployments.events(replanned.id) == events_before
        assert deployments.get_plan(replanned.id) == plan and steps.list(replanned.id) == runs

        # The aggregates kept their pending changes, so the same saves succeed once the server is back.
        assert deployments.save(fresh).version == 2
        assert event_types(deployments, fresh.id) == ["created", "planning_started"]
        assert deployments.save(replanned, plan=other, steps=step_runs(replanned, other)).version == version_before + 1
        assert [e.correlation_id for e in deployments.events(replanned.id)[len(events_before):]] == ["in-flight"]
        assert [s.resource_identifier for s in steps.list(replanned.id)] == ["aws/us-east-1/compute/other"]
