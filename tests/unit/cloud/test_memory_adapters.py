import threading
from concurrent.futures import ThreadPoolExecutor

from orchestrator.adapters.memory.inventory import InMemoryInventory, InMemoryResultStore
from orchestrator.domain.resources import CloudResource


def resource(name="web", tenant="t1", deployment_id="d1", **extra) -> CloudResource:
    return CloudResource(tenant_id=tenant, provider="aws", region="us-east-1", resource_type="compute", name=name,
                         provider_resource_id=f"i-{name}", deployment_id=deployment_id, **extra)


def test_upsert_then_get_by_identifier_and_by_id_per_tenant():
    inventory = InMemoryInventory()
    stored = inventory.upsert(resource(properties={"size": "small"}))
    assert inventory.get("t1", stored.identifier) == stored
    assert inventory.get_by_id("t1", stored.id) == stored
    assert inventory.get("t2", stored.identifier) is None and inventory.get_by_id("t2", stored.id) is None


def test_upsert_replaces_the_record_at_the_same_identifier():
    inventory = InMemoryInventory()
    first = inventory.upsert(resource())
    second = inventory.upsert(resource(properties={"size": "large"}))
    assert len(inventory) == 1 and inventory.get("t1", first.identifier).properties == {"size": "large"}
    assert inventory.get_by_id("t1", first.id) is None and inventory.get_by_id("t1", second.id) == second


def test_stored_records_are_isolated_from_callers_mutations():
    inventory = InMemoryInventory()
    original = resource(properties={"network": {"cidr": "10.0.0.0/16"}})
    inventory.upsert(original)
    original.properties["network"]["cidr"] = "changed"
    inventory.get("t1", original.identifier).properties["network"]["cidr"] = "changed too"
    assert inventory.get("t1", original.identifier).properties == {"network": {"cidr": "10.0.0.0/16"}}


def test_list_filters_by_tenant_and_deployment_and_sorts_by_identifier():
    inventory = InMemoryInventory()
    for name, deployment in (("c", "d1"), ("a", "d1"), ("b", None)):
        inventory.upsert(resource(name, deployment_id=deployment))
    inventory.upsert(resource("z", tenant="t2"))
    assert [r.name for r in inventory.list("t1")] == ["a", "b", "c"]
    assert [r.name for r in inventory.list("t1", "d1")] == ["a", "c"]


def test_delete_reports_whether_the_resource_was_there():
    inventory = InMemoryInventory()
    stored = inventory.upsert(resource())
    assert inventory.delete("t1", stored.identifier) is True
    assert inventory.delete("t1", stored.identifier) is False
    assert inventory.get_by_id("t1", stored.id) is None


def test_patch_merges_top_level_properties_and_replaces_tags():
    inventory = InMemoryInventory()
    stored = inventory.upsert(resource(properties={"size": "small", "cidr": "10.0.0.0/16"}, tags={"a": "1"}))
    patched = inventory.patch("t1", stored.id, properties={"size": "xlarge"}, tags={"b": "2"})
    assert patched.properties == {"size": "xlarge", "cidr": "10.0.0.0/16"} and patched.tags == {"b": "2"}
    assert patched.updated_at >= stored.updated_at
    assert inventory.patch("t1", stored.id, properties={"extra": True}).tags == {"b": "2"}
    assert inventory.patch("t1", "unknown", properties={}) is None


def test_result_store_keeps_the_first_result_even_under_concurrency():
    store = InMemoryResultStore()
    barrier = threading.Barrier(16)

    def put(i):
        barrier.wait(timeout=10)
        return store.put_if_absent("key", {"winner": i})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(put, range(16)))
    assert all(answer == answers[0] for answer in answers)
    assert store.get("key") == answers[0] and store.get("other") is None


def test_result_store_returns_copies():
    store = InMemoryResultStore()
    store.put_if_absent("key", {"nested": {"a": 1}})
    store.get("key")["nested"]["a"] = 2
    assert store.get("key") == {"nested": {"a": 1}}
