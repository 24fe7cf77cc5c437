import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.adapters.memory.inventory import InMemoryInventory, InMemoryResultStore
from orchestrator.cloud.simulator import (
    ApplyOutcome,
    SimulatedProvider,
    computed_attributes,
    expected_resource,
)
from orchestrator.cloud.terraform import terraform_resource
from orchestrator.domain.catalogue import Provider, ResourceType
from orchestrator.domain.errors import ApplyFailed, ProviderError, VerificationFailed
from orchestrator.domain.intent import ResourceSpec

TENANT = "acme"
REGION = {Provider.AWS: "us-east-1", Provider.AZURE: "westeurope", Provider.GCP: "europe-west1"}


class CountingInventory(InMemoryInventory):
    def __init__(self):
        super().__init__()
        self.upserts = 0

    def upsert(self, resource):
        self.upserts += 1
        return super().upsert(resource)


@pytest.fixture
def inventory():
    return CountingInventory()


@pytest.fixture
def results():
    return InMemoryResultStore()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def cloud(inventory, results, sleeps):
    return SimulatedProvider(inventory, results, sleep=sleeps.append)


def spec(name="web", provider=Provider.AWS, rtype=ResourceType.COMPUTE, region=None, **extra) -> ResourceSpec:
    return ResourceSpec(provider=provider, resource_type=rtype, region=region or REGION[Provider(provider)],
                        name=name, **extra)


def apply(cloud, s, key="k1", attempt=1, deployment_id="d1"):
    return cloud.apply(tenant_id=TENANT, deployment_id=deployment_id, spec=s, idempotency_key=key, attempt=attempt)


def test_apply_creates_the_resource_with_user_properties_only(cloud, inventory):
    s = spec(properties={"size": "large", "simulate": {"latency_ms": 1}}, tags={"team": "web"})
    outcome = apply(cloud, s)
    assert outcome.action == "created" and outcome.identifier == s.identifier and outcome.attempt == 1
    stored = inventory.get(TENANT, s.identifier)
    assert stored.properties == {"size": "large"}  # neither `simulate` nor computed attributes
    assert stored.tags == {"team": "web"} and stored.deployment_id == "d1"
    assert stored.id == outcome.resource_id and stored.provider_resource_id == outcome.provider_resource_id
    assert set(outcome.computed) >= {"arn", "private_ip"}
    assert not set(outcome.computed) & set(stored.properties)


def test_apply_updates_in_place_keeping_ids(cloud, inventory):
    first = apply(cloud, spec(properties={"size": "small"}), key="k1")
    second = apply(cloud, spec(properties={"size": "large"}, tags={"team": "x"}), key="k2", deployment_id="d2")
    assert second.action == "updated"
    assert (second.resource_id, second.provider_resource_id) == (first.resource_id, first.provider_resource_id)
    stored = inventory.get(TENANT, spec().identifier)
    assert stored.properties == {"size": "large"} and stored.tags == {"team": "x"} and stored.deployment_id == "d2"
    assert len(inventory) == 1


def test_apply_of_an_identical_spec_reports_unchanged_and_writes_nothing(cloud, inventory):
    apply(cloud, spec(properties={"size": "small"}), key="k1")
    assert apply(cloud, spec(properties={"size": "small"}), key="k2").action == "unchanged"
    assert inventory.upserts == 1


def test_apply_notices_a_bool_replacing_an_equal_number(cloud, inventory):
    apply(cloud, spec(properties={"replicas": 1}), key="k1")
    assert apply(cloud, spec(properties={"replicas": True}), key="k2").action == "updated"


def test_repeating_an_apply_key_returns_the_first_result_and_creates_nothing(cloud, inventory):
    first = apply(cloud, spec(properties={"size": "small"}), key="k1")
    inventory.delete(TENANT, spec().identifier)  # gone out of band: a real re-run would create it again
    repeat = apply(cloud, spec(properties={"size": "large"}), key="k1", attempt=2)
    assert repeat == first
    assert inventory.get(TENANT, spec().identifier) is None and inventory.upserts == 1


def test_twenty_concurrent_applies_with_one_key_create_exactly_one_resource(inventory, results):
    barrier = threading.Barrier(20)
    # Every thread reaches the simulated latency before any proceeds, so all of them race for the same key.
    cloud = SimulatedProvider(inventory, results, sleep=lambda _: barrier.wait(timeout=10))
    s = spec(properties={"simulate": {"latency_ms": 5}})
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: apply(cloud, s, key="shared"), range(20)))
    assert len(inventory) == 1 and inventory.upserts == 1
    assert all(o == outcomes[0] for o in outcomes) and outcomes[0].action == "created"
    assert results.get("shared") == outcomes[0].model_dump(mode="json")


def test_reusing_a_key_for_another_resource_or_operation_is_refused(cloud):
    apply(cloud, spec(name="a"), key="k1")
    with pytest.raises(ProviderError, match="idempotency key k1"):
        apply(cloud, spec(name="b"), key="k1")
    with pytest.raises(ProviderError):
        cloud.destroy(tenant_id=TENANT, identifier=spec(name="a").identifier, idempotency_key="k1")


def test_destroy_removes_the_resource_and_is_idempotent(cloud, inventory):
    created = apply(cloud, spec(), key="k1")
    first = cloud.destroy(tenant_id=TENANT, identifier=spec().identifier, idempotency_key="d1")
    assert first.action == "destroyed" and first.provider_resource_id == created.provider_resource_id
    assert inventory.get(TENANT, spec().identifier) is None
    apply(cloud, spec(), key="k2")  # re-created by a later step
    repeat = cloud.destroy(tenant_id=TENANT, identifier=spec().identifier, idempotency_key="d1")
    assert repeat == first
    assert inventory.get(TENANT, spec().identifier) is not None  # the repeat deleted nothing


def test_destroying_an_absent_resource_succeeds_reporting_it_was_already_gone(cloud, results):
    outcome = cloud.destroy(tenant_id=TENANT, identifier=spec().identifier, idempotency_key="d1")
    assert outcome.action == "already_absent" and outcome.provider_resource_id is None
    assert results.get("d1") == outcome.model_dump(mode="json")


def test_fail_apply_1_fails_the_first_attempt_without_recording_and_the_retry_succeeds(cloud, inventory, results):
    s = spec(properties={"simulate": {"fail_apply": 1}})
    with pytest.raises(ApplyFailed, match="attempt 1"):
        apply(cloud, s, key="k1", attempt=1)
    assert results.get("k1") is None and len(inventory) == 0
    outcome = apply(cloud, s, key="k1", attempt=2)
    assert outcome.action == "created" and outcome.attempt == 2


def test_fail_apply_n_fails_attempts_one_to_n(cloud):
    s = spec(properties={"simulate": {"fail_apply": 2}})
    for attempt in (1, 2):
        with pytest.raises(ApplyFailed):
            apply(cloud, s, attempt=attempt)
    assert apply(cloud, s, attempt=3).attempt == 3


def test_fail_apply_always_fails_every_attempt(cloud, results):
    s = spec(properties={"simulate": {"fail_apply": "always"}})
    for attempt in (1, 2, 3, 50):
        with pytest.raises(ApplyFailed):
            apply(cloud, s, attempt=attempt)
    assert results.get("k1") is None


def test_latency_sleeps_through_the_injected_sleep_on_each_attempt_but_not_on_replay(cloud, sleeps):
    s = spec(properties={"simulate": {"latency_ms": 250, "fail_apply": 1}})
    with pytest.raises(ApplyFailed):
        apply(cloud, s, attempt=1)
    apply(cloud, s, attempt=2)
    apply(cloud, s, attempt=3)  # replay of the recorded result
    assert sleeps == [0.25, 0.25]


def test_attempt_numbers_start_at_one(cloud):
    with pytest.raises(ValueError):
        apply(cloud, spec(), attempt=0)


def test_verify_passes_when_the_resource_matches_its_spec(cloud):
    s = spec(properties={"size": "small", "simulate": {"latency_ms": 1}}, tags={"team": "a"})
    apply(cloud, s)
    cloud.verify(tenant_id=TENANT, spec=s)


def test_verify_fails_when_the_resource_is_missing(cloud):
    with pytest.raises(VerificationFailed, match="does not exist"):
        cloud.verify(tenant_id=TENANT, spec=spec())


def test_verify_fails_when_the_resource_differs_from_the_spec(cloud, inventory):
    s = spec(properties={"size": "small"}, tags={"team": "a"})
    outcome = apply(cloud, s)
    inventory.patch(TENANT, outcome.resource_id, properties={"size": "xlarge"}, tags={})
    with pytest.raises(VerificationFailed, match=r"properties\.size, tags\.team"):
        cloud.verify(tenant_id=TENANT, spec=s)


def test_fail_verify_fails_verification_of_a_correct_resource(cloud):
    s = spec(properties={"simulate": {"fail_verify": True}})
    apply(cloud, s)
    with pytest.raises(VerificationFailed, match="simulated"):
        cloud.verify(tenant_id=TENANT, spec=s)


def test_read_returns_the_stored_resource_or_none(cloud):
    assert cloud.read(TENANT, spec().identifier) is None
    apply(cloud, spec())
    assert cloud.read(TENANT, spec().identifier).name == "web"
    assert cloud.read("someone-else", spec().identifier) is None


HEX = "[0-9a-f]"
ID_SHAPES = {
    Provider.AWS: {
        ResourceType.COMPUTE: rf"^i-0{HEX}{{16}}$",
        ResourceType.STORAGE: r"^arn:aws:s3:::r-storage$",
        ResourceType.DATABASE: r"^arn:aws:rds:us-east-1:\d{12}:db:r-database$",
        ResourceType.NETWORK: rf"^arn:aws:ec2:us-east-1:\d{{12}}:vpc/vpc-0{HEX}{{16}}$",
        ResourceType.CONTAINER: r"^arn:aws:eks:us-east-1:\d{12}:cluster/r-container$",
        ResourceType.SERVERLESS: r"^arn:aws:lambda:us-east-1:\d{12}:function:r-serverless$",
        ResourceType.LOAD_BALANCER: rf"^arn:aws:elasticloadbalancing:us-east-1:\d{{12}}:loadbalancer/app/"
                                    rf"r-load-balancer/{HEX}{{16}}$",
        ResourceType.DNS: r"^arn:aws:route53:::hostedzone/Z[0-9A-F]{20}$",
        ResourceType.CDN: r"^arn:aws:cloudfront::\d{12}:distribution/E[0-9A-F]{13}$",
        ResourceType.QUEUE: r"^arn:aws:sqs:us-east-1:\d{12}:r-queue$",
        ResourceType.CACHE: r"^arn:aws:elasticache:us-east-1:\d{12}:cluster:r-cache$",
    },
}
AZURE_PREFIX = r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/rg-orchestrator-westeurope/providers/Microsoft\.\w+/"
GCP_PREFIX = r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/(zones|regions|global)/"


@pytest.mark.parametrize("rtype", list(ResourceType))
@pytest.mark.parametrize("provider", list(Provider))
def test_provider_ids_have_the_shape_of_each_provider(cloud, provider, rtype):
    s = spec(name=f"r-{rtype.value.replace('_', '-')}", provider=provider, rtype=rtype)
    outcome = apply(cloud, s)
    pid = outcome.provider_resource_id
    if provider == Provider.AWS:
        assert re.match(ID_SHAPES[provider][rtype], pid), pid
    elif provider == Provider.AZURE:
        assert re.match(AZURE_PREFIX, pid), pid
        assert pid.endswith(("/r-" + rtype.value.replace("_", "-"), ".example.com")) or "storageAccounts/st" in pid
    else:
        assert re.match(GCP_PREFIX, pid), pid
        assert pid.endswith("/" + s.name)
    assert len(json.dumps(outcome.model_dump(mode="json"))) < 1024  # travels back as a Lambda result


def test_provider_ids_are_deterministic_per_tenant_and_identifier(inventory, results):
    s = spec()
    one = SimulatedProvider(InMemoryInventory(), InMemoryResultStore(), sleep=lambda _: None)
    two = SimulatedProvider(InMemoryInventory(), InMemoryResultStore(), sleep=lambda _: None)
    a = one.apply(tenant_id=TENANT, deployment_id="d", spec=s, idempotency_key="x", attempt=1)
    b = two.apply(tenant_id=TENANT, deployment_id="d", spec=s, idempotency_key="y", attempt=1)
    c = two.apply(tenant_id="other", deployment_id="d", spec=s, idempotency_key="z", attempt=1)
    assert (a.provider_resource_id, a.resource_id, a.computed) == (b.provider_resource_id, b.resource_id, b.computed)
    assert c.provider_resource_id != a.provider_resource_id


def test_outcomes_round_trip_through_json(cloud):
    outcome = apply(cloud, spec(provider=Provider.AZURE, rtype=ResourceType.DNS, name="zone"))
    assert ApplyOutcome.model_validate(json.loads(json.dumps(outcome.model_dump(mode="json")))) == outcome


def test_expected_resource_is_what_a_successful_apply_stores(cloud, inventory):
    s = spec(provider=Provider.GCP, rtype=ResourceType.DATABASE, properties={"simulate": {"latency_ms": 1},
                                                                            "size": "medium"}, tags={"a": "b"})
    apply(cloud, s)
    stored = inventory.get(TENANT, s.identifier)
    baseline = expected_resource(s, tenant_id=TENANT, deployment_id="d1")
    fields = {"id", "provider_resource_id", "properties", "tags", "deployment_id", "region", "name"}
    assert baseline.model_dump(include=fields) == stored.model_dump(include=fields)
    assert computed_attributes(stored)["connection_name"].endswith(":europe-west1:web")


def test_azure_ids_name_the_resource_group_and_storage_account_the_terraform_document_creates(cloud):
    s = spec(name="assets", provider=Provider.AZURE, rtype=ResourceType.STORAGE)
    pid = apply(cloud, s).provider_resource_id
    fragment = terraform_resource(s)
    account = fragment["resource"]["azurerm_storage_account"]["assets_westeurope"]["name"]
    group = fragment["resource"]["azurerm_resource_group"]["rg_westeurope"]["name"]
    assert pid.endswith(f"/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}")
