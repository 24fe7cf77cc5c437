"""Plans and drift scans against a large tenant inventory. Run: `python bench/inventory_scale.py`.

Starts the local cloud in-process as `bench/lifecycle.py` does, creates a ten-resource deployment over HTTP in each
of two tenants, fills their inventories with records of other stacks (COPY) and times the reads that follow the
deployment.
Prints `name: value` lines:

  plan_10_resources_with_{100,100k}_inventory_ms        the plan of a ten-resource intent (every resource updated):
                                                        the stack's records, policies, dependents, references read
                                                        from PostgreSQL and the planner run; median of 15
  drift_scan_10_resources_with_{100,100k}_inventory_ms  the drift scan use case of that deployment, report stored;
                                                        median of 15
                                                        (two tenants, one with 100 records and one with 100,000,
                                                        measured in turn so both meet the same machine load)
  concurrent_50x10_big_inventory_errors                 with 100,000 records in the tenant: 50 ten-resource
                                                        deployments POSTed at once; 5xx or failed requests plus
                                                        deployments not in a terminal state after 10 minutes
  concurrent_50x10_big_inventory_s                      from the first POST until all 50 are terminal
  concurrent_50x10_big_inventory_retried_503_or_429     answers that asked the client to retry later (honoured)
  concurrent_50x10_big_inventory_completed              how many of them completed
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "infra"), str(ROOT / "bench")]

import psycopg  # noqa: E402
from lifecycle import PROVIDERS, Http, local_cloud_as_admin, three_cloud_intent  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from orchestrator.domain.catalogue import resource_identifier  # noqa: E402

# The use cases are imported once the local cloud has set the functions' environment (metrics off, its pool size),
# as the handlers importing them in-process do.

RUNS = 15
BIG = 100_000
TERMINAL = {"completed", "failed", "rolled_back", "cancelled", "rejected"}
TYPES = ["network", "database", "compute", "queue", "storage"]
COPY_COLUMNS = ("id, tenant_id, provider, region, resource_type, name, resource_identifier, provider_resource_id, "
                "properties, tags, deployment_id, stack, dependencies")


def load_other_stacks(database_url: str, tenant: str, count: int) -> None:
    """`count` records of other stacks, ten per stack, in the same providers and regions as the measured deployment
    (so nothing is excluded by scope alone); each depends on the one before it in its stack. One in ten was made by
    hand (no deployment) in a region no deployment uses."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY cloud_resources ({COPY_COLUMNS}) FROM STDIN") as copy:
            deployment, previous = None, None
            for n in range(count):
                provider = list(PROVIDERS)[n % 3]
                if n % 10 == 0:
                    deployment, previous = str(uuid.uuid4()), None
                unowned = n % 10 == 9
                region = "hand-made-1" if unowned else PROVIDERS[provider]
                resource_type, name = TYPES[n % len(TYPES)], f"other-{n}"
                identifier = resource_identifier(provider, region, resource_type, name)
                copy.write_row((str(uuid.uuid4()), tenant, provider, region, resource_type, name, identifier,
                                f"{provider}-{n}", Jsonb({"size": "small"}), Jsonb({"owner": "other"}),
                                None if unowned else deployment, None if unowned else f"other-stack-{n // 10}",
                                [previous] if previous else []))
                previous = identifier
        conn.execute("ANALYZE cloud_resources")


def _interleaved_medians(actions: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median milliseconds of each action, run in turn so that all of them meet the same machine load."""
    for action in actions.values():
        action()  # warm: prepared statements, imports
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(RUNS):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}


def plan_action(deployment_id: str) -> Callable[[], None]:
    """What the plan task does before it stores the plan: read the stack's records and the plan's inputs, plan."""
    from orchestrator.domain.intent import validate_intent
    from orchestrator.domain.lifecycle import utcnow
    from orchestrator.planning import build_plan
    from orchestrator.planning.diff import spec_identifier
    from orchestrator.usecases.policies import plan_inputs
    from orchestrator.wiring import services

    svc = services()
    deployment = svc.deployments.get(deployment_id)
    raw = deployment.intent.model_dump(mode="json")
    for resource in raw["resources"]:
        resource["properties"]["size"] = "large"
    intent = validate_intent(raw)
    tenant, stack = deployment.tenant_id, intent.name

    def plan() -> None:
        live = svc.inventory.for_stack(tenant, stack, [spec_identifier(r) for r in intent.resources])
        built = build_plan(intent, deployment_id=deployment.id, live=live, stack=stack,
                           **plan_inputs(svc, tenant, intent, utcnow()))
        assert len(built.steps) == 10 and not built.blocked, built.policy

    return plan


def drift_action(deployment_id: str) -> Callable[[], None]:
    from orchestrator.usecases import drift
    from orchestrator.wiring import services

    svc = services()
    deployment = svc.deployments.get(deployment_id)

    def scan() -> None:
        report = drift.scan(svc, deployment, scan_type="manual")
        assert not report.has_drift, report.summary

    return scan


def _post(base: str, token: str, path: str, body: dict[str, Any], overloaded: list[int],
          attempts: int = 5) -> tuple[int, dict]:
    """POST, honouring Retry-After on a 503 or 429 a few times (what a well-behaved client does under overload);
    each such answer is noted in `overloaded`."""
    data = json.dumps(body).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(base + path, method="POST", data=data, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            retry_after = error.headers.get("Retry-After")
            if error.code in (429, 503):
                overloaded.append(error.code)
            if error.code in (429, 503) and retry_after and attempt < attempts - 1:
                time.sleep(float(retry_after))
                continue
            return error.code, json.loads(error.read() or b"{}")
    raise AssertionError("unreachable")


def concurrent_creations(http: Http, count: int = 50, size: int = 10, timeout: float = 600) -> dict[str, float]:
    statuses: list[int] = []
    ids: list[str] = []
    failures: list[Any] = []
    overloaded: list[int] = []

    def create(n: int) -> None:
        try:
            status, body = _post(http.base, http.token, "/api/v1/deployments",
                                 three_cloud_intent(size, f"burst-{n}"), overloaded)
        except Exception as exc:  # a connection refused or reset counts as a failed request
            status, body = 0, {"error": repr(exc)}
        statuses.append(status)
        if status != 201:
            failures.append(body)
        if status == 201:
            ids.append(body["id"])

    started = time.perf_counter()
    threads = [threading.Thread(target=create, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(ids) and time.monotonic() < deadline:
        for deployment_id in ids:
            if deployment_id not in final:
                status = http.call("GET", f"/api/v1/deployments/{deployment_id}")["status"]
                if status in TERMINAL:
                    final[deployment_id] = status
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    failed_requests = sum(1 for s in statuses if s != 201)
    if failed_requests or failures:
        print(f"failed creations: statuses {sorted(s for s in statuses if s != 201)}, first: {failures[:1]}",
              file=sys.stderr)
    return {"concurrent_50x10_big_inventory_errors": failed_requests + (len(ids) - len(final)),
            "concurrent_50x10_big_inventory_s": round(elapsed, 2),
            "concurrent_50x10_big_inventory_retried_503_or_429": len(overloaded),
            "concurrent_50x10_big_inventory_completed": sum(1 for s in final.values() if s == "completed")}


def _tenant_operator(admin: Http, tenant: str) -> Http:
    user = {"username": f"ops-{tenant}", "email": f"ops-{tenant}@example.com", "password": "correct-horse-battery",
            "role": "operator", "tenant_id": tenant}
    admin.call("POST", "/api/v1/auth/register", user)
    http = Http(admin.base)
    http.token = http.call("POST", "/api/v1/auth/login", {"username": user["username"],
                                                          "password": user["password"]})["access_token"]
    return http


def measure() -> dict[str, float]:
    figures: dict[str, float] = {}
    with local_cloud_as_admin() as (cloud, servers, admin):
        # Two tenants, one deployment each, measured in turn: 100 records in one, 100,000 in the other.
        tenants = {size: f"scale-{size}-{uuid.uuid4().hex[:6]}" for size in ("100", "100k")}
        deployments, clients = {}, {}
        for size, tenant in tenants.items():
            clients[size] = http = _tenant_operator(admin, tenant)
            deployments[size] = http.call("POST", "/api/v1/deployments",
                                          three_cloud_intent(10, "measured"))["id"]
            http.wait_completed(deployments[size])
        load_other_stacks(servers.database_url, tenants["100"], 90)
        load_other_stacks(servers.database_url, tenants["100k"], BIG - 10)
        actions = {}
        for size, deployment_id in deployments.items():
            actions[f"plan_10_resources_with_{size}_inventory_ms"] = plan_action(deployment_id)
            actions[f"drift_scan_10_resources_with_{size}_inventory_ms"] = drift_action(deployment_id)
        medians = _interleaved_medians(actions)
        for name in sorted(medians, key=lambda n: (not n.startswith("plan"), "100k" in n)):
            figures[name] = medians[name]

        figures.update(concurrent_creations(clients["100k"]))
    return figures


def main() -> None:
    for name, value in measure().items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
