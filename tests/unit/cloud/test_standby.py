"""Health and standby instances on the in-memory inventory, which unit tests of strategies build on: it must answer
as the PostgreSQL adapter does (tests/integration/test_cloud_standby.py runs the same primitives there)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.adapters.memory.inventory import InMemoryInventory, InMemoryResultStore
from orchestrator.cloud.simulator import SimulatedProvider, describe, standby_instance
from orchestrator.domain.errors import ProviderError, VerificationFailed
from orchestrator.domain.intent import ResourceSpec
from orchestrator.domain.lifecycle import utcnow

T = "acme"


@pytest.fixture
def inventory() -> InMemoryInventory:
    return InMemoryInventory()


@pytest.fixture
def cloud(inventory: InMemoryInventory) -> SimulatedProvider:
    return SimulatedProvider(inventory, InMemoryResultStore(), sleep=lambda _: None)


def spec(name: str = "web", size: str = "small", **simulate) -> ResourceSpec:
    return ResourceSpec(provider="aws", resource_type="compute", region="us-east-1", name=name,
                        properties={"size": size, **({"simulate": simulate} if simulate else {})})


def apply(cloud: SimulatedProvider, s: ResourceSpec, key: str):
    return cloud.apply(tenant_id=T, deployment_id="d1", spec=s, idempotency_key=key, attempt=1, stack="shop")


def stage(cloud: SimulatedProvider, s: ResourceSpec, key: str):
    return cloud.create_standby(tenant_id=T, deployment_id="d2", spec=s, idempotency_key=key, attempt=1,
                                stack="shop")


def test_health_follows_the_last_apply_and_the_console_and_keeps_when_it_was_unhealthy(cloud, inventory):
    apply(cloud, spec(unhealthy=True), "a1")
    sick = cloud.serving(T, spec().identifier)
    assert sick.health == "unhealthy" and sick.unhealthy_at is not None and "simulate" not in sick.properties
    assert apply(cloud, spec(unhealthy=True), "a2").action == "unchanged"
    assert cloud.serving(T, spec().identifier).unhealthy_at == sick.unhealthy_at
    healed = inventory.patch(T, sick.id, health="healthy")
    assert healed.health == "healthy" and healed.unhealthy_at == sick.unhealthy_at
    assert healed.version == sick.version  # health alone is no write of the resource: the version stays
    assert inventory.patch(T, sick.id, tags={"team": "ops"}).version == sick.version + 1


def test_unhealthy_answers_in_the_given_order_for_serving_or_standby_instances(cloud, inventory):
    for name in ("a", "b", "c"):
        apply(cloud, spec(name, unhealthy=name == "b"), f"a-{name}")
    a, b, c, missing = (spec(n).identifier for n in ("a", "b", "c", "zz"))
    t0 = utcnow()
    inventory.patch(T, inventory.get(T, b).id, health="healthy")
    inventory.patch(T, inventory.get(T, c).id, health="unhealthy")
    inventory.patch(T, inventory.get(T, c).id, health="healthy")
    assert cloud.unhealthy(T, [missing, c, b, a]) == [missing]
    assert cloud.unhealthy(T, [missing, c, b, a], since=t0) == [missing, c]
    assert cloud.unhealthy(T, [a, b], since=t0 - timedelta(hours=1)) == [b]
    stage(cloud, spec("a", "large", unhealthy=True), "g-a")
    assert cloud.unhealthy(T, [a, b], standby=True) == [a, b]


def test_switch_and_switch_back_swap_instances_and_keep_the_record(cloud):
    identifier = spec().identifier
    apply(cloud, spec(), "a1")
    blue = cloud.serving(T, identifier)
    green = stage(cloud, spec(size="large"), "g1")
    assert cloud.standby(T, identifier).role == "green"
    cloud.verify_many(tenant_id=T, specs=[spec(size="large")], standby=True)

    switched = cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")
    assert (switched.serving, switched.previous, switched.version) == (
        green.provider_resource_id, blue.provider_resource_id, blue.version + 1)
    serving, standby = cloud.serving(T, identifier), cloud.standby(T, identifier)
    assert serving.id == blue.id and serving.properties == {"size": "large"} and serving.deployment_id == "d2"
    assert standby.role == "blue" and standby.properties == {"size": "small"} and standby.deployment_id == "d1"
    assert standby.id == blue.id and standby.version == serving.version
    assert cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1") == switched
    with pytest.raises(ProviderError, match="already switched"):
        cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s2")

    back = cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="b1")
    assert (back.action, back.serving) == ("switched", blue.provider_resource_id)
    assert cloud.switch_back(tenant_id=T, identifier=identifier, idempotency_key="b2").action == "unchanged"
    assert cloud.serving(T, identifier).version == blue.version + 2


def test_standby_refusals_and_removal(cloud):
    identifier = spec().identifier
    with pytest.raises(ProviderError, match="does not exist"):
        stage(cloud, spec(), "g0")
    apply(cloud, spec(), "a1")
    with pytest.raises(ProviderError, match="no standby instance"):
        cloud.switch(tenant_id=T, identifier=identifier, idempotency_key="s1")
    with pytest.raises(VerificationFailed, match="no standby instance"):
        cloud.verify_many(tenant_id=T, specs=[spec()], standby=True)
    stage(cloud, spec(size="large", unhealthy=True), "g1")
    with pytest.raises(ProviderError, match="already has a green standby"):
        stage(cloud, spec(size="large"), "g2")
    with pytest.raises(VerificationFailed, match="unhealthy"):
        cloud.verify_many(tenant_id=T, specs=[spec(size="large")], standby=True)

    removed = cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key="d1")
    assert (removed.action, removed.role) == ("destroyed", "green")
    assert cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key="d2").action == "already_absent"
    assert cloud.destroy_standby(tenant_id=T, identifier=identifier, idempotency_key="d1") == removed
    stage(cloud, spec(size="large"), "g3")
    cloud.destroy(tenant_id=T, identifier=identifier, idempotency_key="x1")
    assert cloud.standby(T, identifier) is None and cloud.serving(T, identifier) is None


@pytest.mark.parametrize(("provider", "rtype", "region", "name", "properties"), [
    ("aws", "compute", "us-east-1", "web", {}),
    ("aws", "storage", "us-east-1", "b" * 63, {}),
    ("azure", "storage", "westeurope", "assets", {}),
    ("azure", "dns", "westeurope", "zone", {"domain": "example.com"}),
    ("gcp", "database", "europe-west1", "db", {}),
])
def test_each_staging_gets_its_own_provider_id_in_the_provider_format(provider, rtype, region, name, properties):
    s = ResourceSpec(provider=provider, resource_type=rtype, region=region, name=name, properties=properties)
    serving_id, _ = describe(T, s.provider, s.region, s.resource_type, s.name, properties)
    first, _ = standby_instance(T, s, properties, "key-1", serving_id)
    again, _ = standby_instance(T, s, properties, "key-1", serving_id)
    other, _ = standby_instance(T, s, properties, "key-2", serving_id)
    assert first == again and len({serving_id, first, other}) == 3
    assert first.split("/")[:-1] == serving_id.split("/")[:-1] or first.startswith(serving_id)
