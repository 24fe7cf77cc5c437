"""Inventory reads follow the deployment, not the tenant (ADR 0023): plans, drift scans and the console read the
records they need by index, however many other records the tenant holds. Real PostgreSQL; the plans asserted are
the server's own (EXPLAIN of the statements the adapters send)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from api_client import Api, intent
from psycopg.types.json import Jsonb

from orchestrator.adapters.postgres.inventory import PgInventory
from orchestrator.domain.catalogue import resource_identifier
from orchestrator.domain.resources import CloudResource
from orchestrator.drift.detector import detect_drift
from orchestrator.usecases import drift
from orchestrator.wiring import services

pytestmark = pytest.mark.integration

T = "tenant-big"
PROVIDERS = {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}


def load_other_stacks(database_url: str, tenant: str, count: int) -> None:
    """`count` records of other deployments and stacks, in the regions the tests' deployments use, each depending
    on the one before it in its stack; one in ten made by hand in a region nobody deploys to."""
    columns = ("id, tenant_id, provider, region, resource_type, name, resource_identifier, provider_resource_id, "
               "properties, tags, deployment_id, stack, dependencies")
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY cloud_resources ({columns}) FROM STDIN") as copy:
            deployment, previous = None, None
            for n in range(count):
                provider = list(PROVIDERS)[n % 3]
                if n % 10 == 0:
                    deployment, previous = str(uuid.uuid4()), None
                unowned = n % 10 == 9
                region = "hand-made-1" if unowned else PROVIDERS[provider]
                identifier = resource_identifier(provider, region, "queue", f"other-{n}")
                copy.write_row((str(uuid.uuid4()), tenant, provider, region, "queue", f"other-{n}", identifier,
                                f"q-{n}", Jsonb({"size": "small"}), Jsonb({}), None if unowned else deployment,
                                None if unowned else f"other-{n // 10}", [previous] if previous else []))
                previous = identifier
        conn.execute("ANALYZE cloud_resources")


class Spy:
    """Counts the calls and the records returned by each method of a port."""

    def __init__(self, target: Any):
        self._target, self.calls, self.rows = target, [], []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self.calls.append(name)
            self.rows.append(len(result) if isinstance(result, list) else 1)
            return result
        return counted


def spied(svc):
    return dataclasses.replace(svc, inventory=Spy(svc.inventory), steps=Spy(svc.steps))


# --- drift scans on the local cloud ----------------------------------------------------------------------------------

@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def _tampered_deployment(operator: Api, tenant: str, local_cloud) -> dict[str, Any]:
    """A completed three-resource deployment, changed out of band in every way drift knows, in a tenant holding
    20,000 records of other stacks."""
    created = operator.deploy(intent(name=f"scanned-{uuid.uuid4().hex[:6]}"))
    assert operator.wait_for(created["id"], {"completed", "failed"})["status"] == "completed"
    load_other_stacks(local_cloud.database_url, tenant, 20_000)
    resources = {r["resource_identifier"]: r for r in operator.resources(created["id"])}
    db, vpc, app = (resources[i] for i in ("gcp/us-central1/database/db", "aws/us-east-1/network/vpc",
                                           "aws/us-east-1/compute/app"))
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{db['id']}", {"properties": {"encrypted": False,
                                                                                        "size": "large"}}).status == 200
    assert operator.call("PATCH", f"/api/v1/cloud/resources/{vpc['id']}", {"tags": {"team": "other"}}).status == 200
    assert operator.call("DELETE", f"/api/v1/cloud/resources/{app['id']}").status == 204
    inventory = services().inventory
    for region in ("us-east-1", "eu-west-1"):  # made by hand: in the deployment's scope, and out of it
        inventory.upsert(CloudResource(tenant_id=tenant, provider="aws", region=region, resource_type="storage",
                                       name="by-hand", provider_resource_id="b-1"))
    return created


def test_drift_scan_reads_only_the_deployments_records_and_reports_what_a_whole_inventory_read_would(
        operator: Api, tenant: str, local_cloud, monkeypatch):
    created = _tampered_deployment(operator, tenant, local_cloud)
    svc = services()
    deployment = svc.deployments.get(created["id"])
    # What the detector reports given the tenant's whole inventory: the semantics the indexed scan must keep.
    whole = detect_drift(drift.expected_state(svc, deployment), svc.inventory.list(tenant),
                         deployment_id=deployment.id, tenant_id=tenant, scan_type="manual")
    found = {(i.drift_type.value, i.resource_identifier, i.property_path): i.severity.value for i in whole.items}
    assert found == {
        ("resource_removed", "aws/us-east-1/compute/app", None): "critical",
        ("property_changed", "gcp/us-central1/database/db", "properties.encrypted"): "high",
        ("property_changed", "gcp/us-central1/database/db", "properties.size"): "medium",
        ("tag_changed", "aws/us-east-1/network/vpc", "tags.team"): "low",
        ("resource_added", "aws/us-east-1/storage/by-hand", None): "medium",
    }

    for page_size in (1, 2, 500):
        monkeypatch.setattr(drift, "PAGE", page_size)
        reading = spied(svc)
        report = drift.detect(reading, deployment, scan_type="manual")
        assert report.items == whole.items, page_size
        assert "list" not in reading.inventory.calls and "list" not in reading.steps.calls
        assert max(reading.inventory.rows + reading.steps.rows) <= page_size
        # Three steps, two live records at their identifiers, two owned records plus one made by hand in scope.
        assert sum(reading.inventory.rows) == 5 and sum(reading.steps.rows) == 3


def test_scheduled_scan_goes_deployment_by_deployment_a_page_at_a_time(operator: Api, tenant: str, local_cloud,
                                                                      monkeypatch):
    created = _tampered_deployment(operator, tenant, local_cloud)
    monkeypatch.setattr(drift, "PAGE", 2)
    reading = spied(services())
    done = drift.scan_all(reading, page_size=3)
    assert done.deployments_scanned >= 1
    assert {"runs_after", "at", "drift_candidates"} >= set(reading.inventory.calls + reading.steps.calls)
    assert max(reading.inventory.rows + reading.steps.rows) <= 2
    [report] = operator.call("GET", f"/api/v1/drift/reports?deployment_id={created['id']}").body["items"]
    assert report["id"] in done.reports_with_drift and report["scan_type"] == "scheduled"
    assert (report["critical_count"], report["high_count"], report["medium_count"], report["low_count"]) == \
        (1, 1, 2, 1)


def test_console_pages_through_the_inventory_by_identifier(operator: Api, tenant: str, local_cloud):
    created = operator.deploy(intent(name="paged"))
    assert operator.wait_for(created["id"], {"completed", "failed"})["status"] == "completed"
    load_other_stacks(local_cloud.database_url, tenant, 25)
    seen, after = [], None
    while True:
        reply = operator.call("GET", "/api/v1/cloud/resources?limit=7" + (f"&after={after}" if after else ""))
        assert reply.status == 200 and len(reply.body["items"]) <= 7
        seen += [r["resource_identifier"] for r in reply.body["items"]]
        after = reply.body["next_after"]
        if after is None:
            break
    assert len(seen) == 28 and seen == sorted(set(seen))
    own = operator.call("GET", f"/api/v1/cloud/resources?deployment_id={created['id']}&limit=2").body
    assert len(own["items"]) == 2 and own["next_after"] == own["items"][-1]["resource_identifier"]
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("after=", "after")):
        reply = operator.call("GET", f"/api/v1/cloud/resources?{query}")
        assert reply.status == 422 and field in json.dumps(reply.body), (query, reply.body)


# --- the adapter's statements and their plans ------------------------------------------------------------------------

class ExplainingDatabase:
    """Hands the adapter connections that EXPLAIN every statement (with its parameters) before running it."""

    def __init__(self, database_url: str):
        self._url, self.plans = database_url, []

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with psycopg.connect(self._url, autocommit=True) as conn:
            yield _Explaining(conn, self.plans)


class _Explaining:
    def __init__(self, conn: psycopg.Connection, plans: list):
        self._conn, self._plans = conn, plans

    def _explain(self, sql: str, args: Any) -> None:
        [(plan,)] = self._conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", args).fetchall()
        self._plans.append(plan[0]["Plan"])

    def execute(self, sql: str, args: Any = None) -> Any:
        self._explain(sql, args)
        return self._conn.execute(sql, args)

    def cursor(self, **kwargs: Any) -> Any:
        cursor, explain = self._conn.cursor(**kwargs), self._explain

        class Cursor:
            def execute(self, sql: str, args: Any = None) -> Any:
                explain(sql, args)
                return cursor.execute(sql, args)
        return Cursor()


def _scans(plan: dict[str, Any]) -> set[tuple[str, str]]:
    """(node type, index or relation) of every scan of cloud_resources in the plan."""
    found = set()
    if plan.get("Relation Name") == "cloud_resources" or plan.get("Index Name", "").startswith("cloud_resources"):
        found.add((plan["Node Type"], plan.get("Index Name", "")))
    for child in plan.get("Plans", []):
        found |= _scans(child)
    return found


def test_every_inventory_read_of_a_plan_a_scan_and_the_console_uses_an_index(database_url: str):
    load_other_stacks(database_url, T, 30_000)
    explaining = ExplainingDatabase(database_url)
    inventory = PgInventory(explaining)
    deployment = str(uuid.uuid4())
    owned = [inventory.upsert(CloudResource(tenant_id=T, provider="aws", region="us-east-1", resource_type="network",
                                            name=f"mine-{n}", provider_resource_id=f"n-{n}", deployment_id=deployment,
                                            stack="mine", dependencies=["aws/us-east-1/queue/other-0"]))
             for n in range(3)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE cloud_resources")
    wanted = [r.identifier for r in owned]
    reads = {
        "for_stack": lambda: inventory.for_stack(T, "mine", wanted),
        "at": lambda: inventory.at(T, wanted),
        "get": lambda: inventory.get(T, wanted[0]),
        "list page": lambda: inventory.list(T, limit=101),
        "list page after": lambda: inventory.list(T, after="aws/us-east-1/queue/other-3", limit=101),
        "list deployment": lambda: inventory.list(T, deployment, limit=101),
        "drift candidates": lambda: inventory.drift_candidates(T, deployment, [("aws", "us-east-1"),
                                                                               ("aws", "hand-made-1")]),
        "dependents": lambda: inventory.dependents(T, "mine", wanted),
    }
    for name, read in reads.items():
        explaining.plans.clear()
        read()
        scans = set().union(*map(_scans, explaining.plans))
        assert scans and not any(kind == "Seq Scan" for kind, _ in scans), (name, scans)
        if name == "drift candidates":
            assert {index for _, index in scans} == {"cloud_resources_deployment_identifier_idx",
                                                     "cloud_resources_unowned_scope_idx"}
        if name == "dependents":
            assert ("Bitmap Index Scan", "cloud_resources_dependencies_idx") in scans, scans


def test_drift_candidates_page_in_identifier_order_over_owned_and_unowned_in_scope(db):
    inventory = PgInventory(db)
    deployment, other = str(uuid.uuid4()), str(uuid.uuid4())

    def put(name: str, region: str, owner: str | None) -> str:
        return inventory.upsert(CloudResource(tenant_id=T, provider="aws", region=region, resource_type="queue",
                                              name=name, provider_resource_id=name, deployment_id=owner)).identifier
    expected = sorted([put("a-owned", "us-east-1", deployment), put("c-owned", "eu-west-1", deployment),
                       put("b-hand", "us-east-1", None), put("d-hand", "us-west-2", None)])
    put("e-other", "us-east-1", other)  # another deployment's
    put("f-hand", "ap-south-1", None)  # out of scope
    inventory.upsert(CloudResource(tenant_id="someone-else", provider="aws", region="us-east-1",
                                   resource_type="queue", name="g-hand", provider_resource_id="g"))
    scopes = [("aws", "us-east-1"), ("aws", "us-west-2")]
    pages, after = [], None
    while page := inventory.drift_candidates(T, deployment, scopes, after=after, limit=2):
        pages.append([r.identifier for r in page])
        after = page[-1].identifier
    assert pages == [expected[:2], expected[2:]]
    assert inventory.drift_candidates(T, "not-a-uuid", scopes) == []


def test_dependents_are_walked_from_the_stack_and_the_intent_transitively_and_nothing_else(db):
    inventory = PgInventory(db)

    def put(name: str, stack: str | None, *deps: str) -> str:
        return inventory.upsert(CloudResource(tenant_id=T, provider="aws", region="us-east-1", resource_type="queue",
                                              name=name, provider_resource_id=name, stack=stack,
                                              dependencies=list(deps))).identifier
    net = put("net", "core")
    app = put("app", "apps", net)
    web = put("web", "web", app)  # reaches net through app
    put("unrelated", "other", put("base", "other"))
    named = "aws/us-east-1/queue/planned"  # in the intent, not yet in the inventory
    later = put("later", "apps", named)
    found = {d.identifier: (list(d.dependencies), d.stack, d.environment) for d in
             inventory.dependents(T, "core", [named])}
    assert found == {app: ([net], "apps", "unknown"), web: ([app], "web", "unknown"),
                     later: ([named], "apps", "unknown")}
    assert inventory.dependents("someone-else", "core", [named]) == []

