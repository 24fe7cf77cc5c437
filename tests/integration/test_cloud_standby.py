"""Health and standby instances of the simulated cloud on the real PostgreSQL: fault injection and the console set
health, `unhealthy(since=...)` answers for many resources in one statement, and the blue/green primitives
(create_standby, switch, switch_back, destroy_standby) are idempotent per key and never let a reader see a
resource missing or half switched."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from api_client import Api, intent

from orchestrator.adapters.postgres.inventory import PgInventory, PgResultStore
from orchestrator.adapters.postgres.pool import Database
from orchestrator.cloud.simulator import ApplyOutcome, SimulatedProvider, SwitchOutcome
from orchestrator.domain.errors import ApplyFailed, ProviderError, VerificationFailed
from orchestrator.domain.intent import ResourceSpec
from orchestrator.domain.lifecycle import utcnow

pytestmark = pytest.mark.integration
T = "acme"
DEPLOYMENT, NEXT_DEPLOYMENT = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"


class _Counted:
    """A connection (or cursor) that counts the statements sent through it."""

    def __init__(self, conn: psycopg.Connection | psycopg.Cursor, counter: CountingDatabase):
        self._conn, self._counter = conn, counter

    def execute(self, *args, **kwargs) -> _Counted:
        self._counter.statements += 1
        return _Counted(self._conn.execute(*args, **kwargs), self._counter)

    def cursor(self, *args, **kwargs):
        return _Counted(self._conn.cursor(*args, **kwargs), self._counter)

    def fetchone(self):
        return self._conn.fetchone()

    def fetchall(self):
        return self._conn.fetchall()

    @property
    def rowcount(self) -> int:
        return self._conn.rowcount


class CountingDatabase:
    def __init__(self, db: Database):
        self._db, self.statements = db, 0

    @contextmanager
    def connection(self):
        with self._db.connection() as conn:
            yield _Counted(conn, self)

    @contextmanager
    def transaction(self, **kwargs):
        with self._db.transaction(**kwargs) as conn:
            yield _Counted(conn, self)


@pytest.fixture
def counted(db: Database) -> CountingDatabase:
    return CountingDatabase(db)


@pytest.fixture
def inventory(counted: CountingDatabase) -> PgInventory:
    return PgInventory(counted)


@pytest.fixture
def cloud(inventory: PgInventory, db: Database) -> SimulatedProvider:
    return SimulatedProvider(inventory, PgResultStore(db), sleep=lambda _: None)


def spec(name: str = "web", *, size: str = "small", simulate: dict | None = None, tags: dict | None = None,
         dependencies: list[str] | None = None) -> ResourceSpec:
    properties: dict = {"size": size, **({"simulate": simulate} if simulate else {})}
    return ResourceSpec(provider="aws", resource_type="compute", region="us-east-1", name=name,
                        properties=properties, tags=tags or {"team": "web"}, dependencies=dependencies or [])


def apply(cloud: SimulatedProvider, s: ResourceSpec, key: str, deployment: str = DEPLOYMENT) -> ApplyOutcome:
    return cloud.apply(tenant_id=T, deployment_id=deployment, spec=s, idempotency_key=key, attempt=1, stack="shop")


def stage(cloud: SimulatedProvider, s: ResourceSpec, key: str, attempt: int = 1) -> ApplyOutcome:
    return cloud.create_standby(tenant_id=T, deployment_id=NEXT_DEPLOYMENT, spec=s, idempotency_key=key,
                                attempt=attempt, stack="shop-v2")


def instances(cloud: SimulatedProvider, identifier: str) -> tuple[dict | None, dict | None]:
    serving, standby = cloud.serving(T, identifier), cloud.standby(T, identifier)
    return (serving.model_dump() if serving else None), (standby.model_dump() if standby else None)


# --- health ---------------------------------------------------------------------------------------------------------


def test_apply_with_simulate_unhealthy_leaves_it_unhealthy_and_an_apply_without_heals_it(cloud: SimulatedProvider):
    before = utcnow()
    sick = spec(simulate={"unhealthy": True})
    assert apply(cloud, sick, "a1").action == "created"
    stored = cloud.serving(T, sick.identifier)
    assert stored.health == "unhealthy" and before <= stored.unhealthy_at <= utcnow()
    assert stored.properties == {"size": "small"}  # the instruction is never stored

    healed = apply(cloud, spec(), "a2")
    assert healed.action == "updated"
    again = cloud.serving(T, sick.identifier)
    assert again.health == "healthy" and again.unhealthy_at == stored.unhealthy_at  # kept for watchers
    assert again.version == stored.version  # health is observed, not configured: the version stays
    assert apply(cloud, spec(), "a3").action == "unchanged"


def test_patch_health_turns_unhealthy_once_and_keeps_the_time_when_it_recovers(inventory: PgInventory,
                                                                                cloud: SimulatedProvider):
    apply(cloud, spec(), "p1")
    resource = inventory.get(T, spec().identifier)
    sick = inventory.patch(T, resource.id, health="unhealthy")
    assert sick.health == "unhealthy" and sick.unhealthy_at is not None and sick.version == resource.version
    still = inventory.patch(T, resource.id, health="unhealthy", tags={"team": "ops"})
    assert still.unhealthy_at == sick.unhealthy_at and still.tags == {"team": "ops"}
    well = inventory.patch(T, resource.id, health="healthy")
    assert well.health == "healthy" and well.unhealthy_at == sick.unhealthy_at
    assert inventory.patch(T, resource.id, properties={"size": "large"}).health == "healthy"  # health None: kept


def test_unhealthy_names_missing_unhealthy_and_recently_unhealthy_resources_in_order_in_one_statement(
        cloud: SimulatedProvider, inventory: PgInventory, counted: CountingDatabase):
    names = [f"node-{i:04d}" for i in range(1000)]
    for i, name in enumerate(names[:20]):
        apply(cloud, spec(name, simulate={"unhealthy": True} if i in (3, 7) else None), f"n{i}")
    identifiers = [spec(name).identifier for name in names]
    # 20..999 were never created: missing counts as not serving.
    reversed_ids = list(reversed(identifiers))
    counted.statements = 0
    found = cloud.unhealthy(T, reversed_ids)
    assert counted.statements == 1
    assert found == [i for i in reversed_ids if i not in identifiers[:20]] + [identifiers[7], identifiers[3]]

    t0 = utcnow()
    time.sleep(0.01)
    node_7 = inventory.get(T, identifiers[7])
    inventory.patch(T, node_7.id, health="healthy")  # recovered, but was unhealthy before t0
    node_5 = inventory.get(T, identifiers[5])
    inventory.patch(T, node_5.id, health="unhealthy")
    inventory.patch(T, node_5.id, health="healthy")  # unhealthy for a moment after t0
    first_20 = identifiers[:20]
    assert cloud.unhealthy(T, first_20) == [identifiers[3]]
    assert cloud.unhealthy(T, first_20, since=t0) == [identifiers[3], identifiers[5]]
    assert cloud.unhealthy(T, first_20, since=utcnow() + timedelta(seconds=1)) == [identifiers[3]]
    assert cloud.unhealthy(T, first_20, standby=True) == first_20  # nobody has a standby
    assert cloud.unhealthy(T, []) == []


# --- standby instances ----------------------------------------------------------------------------------------------


def test_create_standby_stages_a_green_instance_with_its_own_provider_id_beside_the_serving_one(
        cloud: SimulatedProvider):
    apply(cloud, spec(tags={"team": "web"}), "a1")
    serving_before = cloud.serving(T, spec().identifier)
    green_spec = spec(size="large", tags={"team": "web", "release": "2"}, simulate={"latency_ms": 5},
                      dependencies=[])
    outcome = stage(cloud, green_spec, "green-1")
    assert outcome.operation == "create_standby" and outcome.action == "created"
    assert outcome.resource_id == serving_before.id
    assert outcome.provider_resource_id != serving_before.provider_resource_id
    assert outcome.provider_resource_id.startswith("i-0") and len(outcome.provider_resource_id) == 19
    assert {"arn", "private_ip"} <= set(outcome.computed)

    standby = cloud.standby(T, green_spec.identifier)
    assert standby.role == "green" and standby.health == "healthy" and standby.unhealthy_at is None
    assert standby.provider_resource_id == outcome.provider_resource_id
    assert standby.properties == {"size": "large"} and standby.tags == {"team": "web", "release": "2"}
    assert (standby.deployment_id, standby.stack) == (NEXT_DEPLOYMENT, "shop-v2")
    assert standby.id == serving_before.id and standby.identifier == serving_before.identifier
    # The serving instance is untouched.
    assert cloud.serving(T, spec().identifier) == serving_before
    cloud.verify_many(tenant_id=T, specs=[green_spec], standby=True)
    with pytest.raises(VerificationFailed, match="differs"):
        cloud.verify_many(tenant_id=T, specs=[spec()], standby=True)


def test_create_standby_refuses_a_missing_resource_and_a_standby_another_key_staged(cloud: SimulatedProvider):
    with pytest.raises(ProviderError, match="does not exist"):
        stage(cloud, spec(), "g1")
    apply(cloud, spec(), "a1")
    with pytest.raises(ApplyFailed):
        stage(cloud, spec(simulate={"fail_apply": 1}), "g1", attempt=1)
    assert cloud.standby(T, spec().identifier) is None  # a failed attempt staged nothing
    first = stage(cloud, spec(simulate={"fail_apply": 1}), "g1", attempt=2)
    with pytest.raises(ProviderError, match="already has a green standby"):
        stage(cloud, spec(), "g2")
    assert cloud.standby(T, spec().identifier).provider_resource_id == first.provider_resource_id


def test_a_staging_whose_outcome_was_not_recorded_is_found_again_by_its_retry(db: Database, inventory: PgInventory):
    class LosesOneResult(PgResultStore):
        fail = False

        def put_if_absent(self, key, result):
            if self.fail:
                self.fail = False
                raise psycopg.OperationalError("connection lost")
            return super().put_if_absent(key, result)

    results = LosesOneResult(db)
    cloud = SimulatedProvider(inventory, results)
    apply(cloud, spec(), "a1")
    results.fail = True
    with pytest.raises(psycopg.OperationalError):
        stage(cloud, spec(size="large"), "g1")
    staged = cloud.standby(T, spec().identifier)
    retried = stage(cloud, spec(size="large"), "g1", attempt=2)
    assert retried.provider_resource_id == staged.provider_resource_id and retried.attempt == 2
    assert cloud.standby(T, spec().identifier) == staged


def test_switch_makes_green_serve_atomically_and_switch_back_restores_blue(cloud: SimulatedProvider):
    identifier = spec().identifier
    apply(cloud, spec(dependencies=[]), "a1")
    blue = cloud.serving(T, identifier)
    green = stage(cloud, spec(size="large", tags={"team": "web", "release": "2"}), "g1")

    switched = cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")
    assert switched == SwitchOutcome(operation="switch", identifier=identifier, serving=green.provider_resource_id,
                                     previous=blue.provider_resource_id, version=blue.version + 1,
                                     action="switched")
    serving, standby = cloud.serving(T, identifier), cloud.standby(T, identifier)
    assert (serving.id, serving.identifier, serving.version) == (blue.id, identifier, blue.version + 1)
    assert serving.provider_resource_id == green.provider_resource_id
    assert serving.properties == {"size": "large"} and serving.tags == {"team": "web", "release": "2"}
    assert (serving.deployment_id, serving.stack, serving.health) == (NEXT_DEPLOYMENT, "shop-v2", "healthy")
    assert serving.created_at == blue.created_at  # the resource is the same; its serving instance changed
    assert standby.role == "blue" and standby.provider_resource_id == blue.provider_resource_id
    assert (standby.properties, standby.tags, standby.deployment_id, standby.stack) == (
        blue.properties, blue.tags, DEPLOYMENT, "shop")

    back = cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="b1")
    assert (back.serving, back.previous, back.version, back.action) == (
        blue.provider_resource_id, green.provider_resource_id, blue.version + 2, "switched")
    restored = cloud.serving(T, identifier)
    assert {k: v for k, v in restored.model_dump().items() if k not in ("version", "updated_at")} == {
        k: v for k, v in blue.model_dump().items() if k not in ("version", "updated_at")}
    assert cloud.standby(T, identifier).role == "green"
    assert cloud.standby(T, identifier).provider_resource_id == green.provider_resource_id

    # Blue already serves: nothing to do, and nothing is written.
    again = cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="b2")
    assert (again.action, again.serving, again.previous, again.version) == (
        "unchanged", blue.provider_resource_id, None, blue.version + 2)
    assert cloud.serving(T, identifier).version == blue.version + 2


def test_switch_without_a_green_standby_fails_cleanly_and_its_retry_runs_once_one_is_staged(
        cloud: SimulatedProvider):
    identifier = spec().identifier
    with pytest.raises(ProviderError, match="does not exist"):
        cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")
    apply(cloud, spec(), "a1")
    before = instances(cloud, identifier)
    with pytest.raises(ProviderError, match="no standby instance"):
        cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")
    assert instances(cloud, identifier) == before

    stage(cloud, spec(size="large"), "g1")
    assert cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1").action == "switched"
    after = instances(cloud, identifier)
    with pytest.raises(ProviderError, match="its standby is blue, already switched"):
        cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s2")
    assert instances(cloud, identifier) == after


def test_every_standby_operation_repeated_with_its_key_returns_the_first_outcome_and_changes_nothing(
        cloud: SimulatedProvider):
    identifier = spec().identifier
    apply(cloud, spec(), "a1")
    steps = [
        ("g1", lambda: stage(cloud, spec(size="large"), "g1")),
        ("s1", lambda: cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")),
        ("b1", lambda: cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="b1")),
        ("s2", lambda: cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s2")),
        ("d1", lambda: cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key="d1")),
        ("d2", lambda: cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key="d2")),
    ]
    outcomes = {}
    for key, run in steps:
        outcomes[key] = run()
        state = instances(cloud, identifier)
        assert run() == outcomes[key]
        assert instances(cloud, identifier) == state
    # Replays of earlier keys, after later operations moved on, still answer what those did and change nothing.
    state = instances(cloud, identifier)
    for key, run in steps:
        assert run() == outcomes[key]
    assert instances(cloud, identifier) == state
    assert state[1] is None and state[0]["provider_resource_id"] == outcomes["g1"].provider_resource_id
    assert (outcomes["d1"].action, outcomes["d1"].role) == ("destroyed", "blue")
    assert (outcomes["d2"].action, outcomes["d2"].provider_resource_id) == ("already_absent", None)
    with pytest.raises(ProviderError, match="refusing to reuse"):
        cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="s1")


def test_destroying_a_resource_destroys_its_standby(cloud: SimulatedProvider):
    identifier = spec().identifier
    apply(cloud, spec(), "a1")
    stage(cloud, spec(size="large"), "g1")
    assert cloud.destroy(tenant_id=T, identifier=identifier, idempotency_key="x1").action == "destroyed"
    assert instances(cloud, identifier) == (None, None)
    apply(cloud, spec(), "a2")  # created again: without the old standby
    assert cloud.standby(T, identifier) is None


def test_standby_health_is_its_own_and_verify_of_standbys_requires_it_healthy(cloud: SimulatedProvider):
    names = ["api", "worker"]
    for name in names:
        apply(cloud, spec(name), f"a-{name}")
    stage(cloud, spec("api", size="large"), "g-api")
    stage(cloud, spec("worker", size="large", simulate={"unhealthy": True}), "g-worker")
    ids = [spec(name).identifier for name in names]
    assert cloud.unhealthy(T, ids, standby=True) == [ids[1]]
    assert cloud.unhealthy(T, ids) == []
    cloud.verify_many(tenant_id=T, specs=[spec("api", size="large")], standby=True)
    with pytest.raises(VerificationFailed, match="unhealthy"):
        cloud.verify_many(tenant_id=T, specs=[spec(name, size="large") for name in names], standby=True)
    with pytest.raises(VerificationFailed, match="no standby instance"):
        cloud.verify_many(tenant_id=T, specs=[spec("other")], standby=True)

    # Switching an unhealthy green in makes the resource unhealthy; switching back heals it.
    cloud.switch(tenant_id=T, identifier=ids[1], idempotency_key="s-worker")
    assert cloud.unhealthy(T, ids) == [ids[1]] and cloud.unhealthy(T, ids, standby=True) == []
    cloud.switch_back(tenant_id=T, identifier=ids[1], idempotency_key="b-worker")
    assert cloud.unhealthy(T, ids) == []


def test_watchers_never_see_a_resource_missing_or_half_switched_while_it_is_switched_back_and_forth(
        db: Database, cloud: SimulatedProvider):
    for name in ("web", "api"):
        apply(cloud, spec(name), f"a-{name}")
    identifiers = [spec(name).identifier for name in ("web", "api")]
    identifier = identifiers[0]

    def values(instance) -> tuple:
        return instance.properties, instance.tags, instance.deployment_id, instance.stack, instance.health

    # Every instance ever staged, by provider id, with the values it was staged with.
    known = {cloud.serving(T, identifier).provider_resource_id: values(cloud.serving(T, identifier))}
    # Each watcher reads through a provider of its own (another Lambda) on the shared pool.
    watcher = SimulatedProvider(PgInventory(db), PgResultStore(db))
    stop, problems, reads = threading.Event(), [], []
    started = utcnow()

    def watch() -> None:
        versions = []
        while not stop.is_set():
            serving = watcher.serving(T, identifier)
            if serving is None:
                problems.append("missing")
                continue
            versions.append(serving.version)
            if known.get(serving.provider_resource_id) != values(serving):
                problems.append(f"half switched: {serving.provider_resource_id} with {values(serving)}")
            if found := watcher.unhealthy(T, identifiers, since=started):
                problems.append(f"unhealthy: {found}")
        if versions != sorted(versions):
            problems.append("a version went backwards")
        reads.append(len(versions))

    threads = [threading.Thread(target=watch) for _ in range(2)]
    for thread in threads:
        thread.start()
    cycles = 30
    try:
        for n in range(cycles):
            release = spec(size="large" if n % 2 == 0 else "small", tags={"team": "web", "release": str(n)})
            green = stage(cloud, release, f"g{n}")
            known[green.provider_resource_id] = values(cloud.standby(T, identifier))
            cloud.switch(tenant_id=T, identifier=identifier, idempotency_key=f"s{n}")
            cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key=f"b{n}")
            cloud.switch(tenant_id=T, identifier=identifier, idempotency_key=f"t{n}")
            cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key=f"d{n}")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert problems == []
    assert min(reads) > cycles  # both watchers really read throughout
    assert cloud.serving(T, identifier).version == 1 + cycles * 3
    assert cloud.serving(T, identifier).tags["release"] == str(cycles - 1)


# --- the console, over HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def test_the_console_shows_health_and_the_standby_and_patches_health(operator: Api, tenant: str, local_cloud):
    queue = {"resource_type": "queue", "provider": "aws", "region": "us-east-1", "name": "jobs",
             "properties": {"size": "small"}, "tags": {"team": "web"}}
    created = operator.deploy(intent("jobs", resources=[queue], target_providers=["aws"]))
    assert operator.wait_for(created["id"], {"completed", "failed", "rolled_back"})["status"] == "completed"
    [healthy] = operator.resources()
    assert healthy["health"] == "healthy" and healthy["unhealthy_at"] is None
    sick = operator.call("PATCH", f"/api/v1/cloud/resources/{healthy['id']}", {"health": "unhealthy"})
    assert sick.status == 200, sick.body
    [listed] = operator.resources()
    assert listed["health"] == "unhealthy" and listed["unhealthy_at"] and "standby" not in listed

    path = f"/api/v1/cloud/resources/{listed['id']}"
    shown = operator.call("GET", path)
    assert shown.status == 200 and shown.body["standby"] is None and shown.body["health"] == "unhealthy"

    patched = operator.call("PATCH", path, {"health": "healthy"})
    assert patched.status == 200, patched.body
    assert patched.body["health"] == "healthy" and patched.body["unhealthy_at"] == listed["unhealthy_at"]
    assert patched.body["version"] == listed["version"]  # a change of health alone keeps the version
    bad = operator.call("PATCH", path, {"health": "sick"})
    assert bad.status == 422 and any(d["loc"][-1] == "health" for d in bad.body["details"]), bad.body

    db = Database(local_cloud.database_url, min_size=1, max_size=1, name="console-test")
    try:
        cloud = SimulatedProvider(PgInventory(db), PgResultStore(db))
        green = cloud.create_standby(tenant_id=tenant, deployment_id=created["id"],
                                     spec=ResourceSpec.model_validate({**queue, "properties": {"size": "large"}}),
                                     idempotency_key=f"{tenant}-green", attempt=1, stack="jobs")
    finally:
        db.close()
    shown = operator.call("GET", path)
    assert shown.body["standby"] == {"provider_resource_id": green.provider_resource_id, "role": "green",
                                     "health": "healthy"}
    assert operator.call("GET", "/api/v1/cloud/resources/00000000-0000-4000-8000-00000000dead").status == 404
