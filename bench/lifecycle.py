"""End-to-end lifecycle benchmarks against the local cloud. Run: `python bench/lifecycle.py`.

Starts the local cloud in-process exactly as `make run` does (embedded PostgreSQL and Valkey in a temporary
directory, the AWS emulator, the HTTP API on a free port), then drives it over HTTP. Prints `name: value` lines:

  lifecycle_50_resources_s        a 50-resource three-cloud intent, auto-approved, no injected latency:
                                  POST /deployments until GET shows `completed` (median of 3 runs)
  concurrent_20x10_s              20 deployments of 10 resources created at once, until all are completed
  state_transitions_50_resources  states entered in the 50-resource execution's history
  state_transitions_budget        N + waves + 12 for that plan (the target the figure above must not exceed)
  canary_50_resources_s           the 50-resource intent created with strategy canary (bake 0), median of 3
  canary_over_rolling             canary_50_resources_s / lifecycle_50_resources_s (target <= 1.5)
  rolling_update_50_resources_s   every resource of a live 50-resource stack updated, strategy rolling, median of 3
  blue_green_50_resources_s       the same update with strategy blue_green (bake 0): each compute-like resource
                                  gets a green instance, a switch and a retired blue; median of 3
  blue_green_over_rolling         blue_green_50_resources_s / rolling_update_50_resources_s (target <= 2.5)
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "infra")]

from localcloud.cloud import LocalCloud  # noqa: E402
from localcloud.servers import Servers, running_servers  # noqa: E402

PROVIDERS = {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}
TIERS = ["network", "database", "cache", "container", "compute", "load_balancer", "queue", "storage", "serverless"]


def three_cloud_intent(count: int, name: str, *, release: int | None = None, strategy: str = "rolling") -> dict:
    """`count` resources over three clouds in tiers: each tier depends on the one before, across providers.
    Resource names carry the deployment's name, so every run creates new resources (nothing is a no-op)."""
    resources, previous = [], []
    providers = list(PROVIDERS)
    for i in range(count):
        provider = providers[i % 3]
        tier = TIERS[min(i * len(TIERS) // count, len(TIERS) - 1)]
        res = {"resource_type": tier, "provider": provider, "region": PROVIDERS[provider],
               "name": f"{name}-{tier.replace('_', '-')}-{i}",
               "properties": {"size": "small", **({"release": release} if release is not None else {})},
               "tags": {"owner": "bench"}}
        tier_index = TIERS.index(tier)
        parents = [r for r in previous if TIERS.index(r["resource_type"]) == tier_index - 1]
        if parents:
            res["dependencies"] = [f"{p['provider']}/{p['region']}/{p['resource_type']}/{p['name']}"
                                   for p in parents[:2]]
        resources.append(res)
        previous.append(res)
    return {"name": name, "description": f"{count}-resource three-cloud benchmark", "environment": "staging",
            "target_providers": providers, "auto_approve": True, "max_concurrency": 40, "resources": resources,
            "strategy": strategy, "strategy_options": {"bake_seconds": 0}}


class Http:
    def __init__(self, base: str):
        self.base, self.token = base, None

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def wait_completed(self, deployment_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            deployment = self.call("GET", f"/api/v1/deployments/{deployment_id}")
            if deployment["status"] in ("completed", "failed", "rolled_back", "cancelled", "rejected"):
                if deployment["status"] != "completed":
                    raise RuntimeError(f"deployment ended {deployment['status']}: {deployment['error_message']}")
                return deployment
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployment {deployment_id} still {deployment['status']}")
            time.sleep(0.02)


@contextlib.contextmanager
def local_cloud_as_admin() -> Iterator[tuple[LocalCloud, Servers, Http]]:
    """The local cloud in-process as `make run` starts it (embedded PostgreSQL and Valkey in a temporary directory,
    the AWS emulator, the HTTP API on a free port), and the bootstrap admin's session on its API."""
    with tempfile.TemporaryDirectory(prefix="orch-bench-") as data, running_servers(data, durable=False) as servers:
        cloud = LocalCloud(database_url=servers.database_url, redis_url=servers.redis_url, aws_port=0, api_port=0)
        cloud.start()
        try:
            http = Http(cloud.api_url)
            http.token = http.call("POST", "/api/v1/auth/login", cloud.admin_credentials())["access_token"]
            yield cloud, servers, http
        finally:
            cloud.stop()


def states_entered(cloud: LocalCloud, execution_arn: str) -> int:
    return sum(1 for e in cloud.emulator.execution_history(execution_arn) if e["type"].endswith("StateEntered"))


def main() -> None:
    with local_cloud_as_admin() as (cloud, _, http):
        http.wait_completed(http.call("POST", "/api/v1/deployments", three_cloud_intent(10, "warm-up"))["id"])

        timings, last = [], None
        for run in range(3):
            started = time.perf_counter()
            created = http.call("POST", "/api/v1/deployments", three_cloud_intent(50, f"lifecycle-{run}"))
            last = http.wait_completed(created["id"])
            applied = last["steps"]["by_status"].get("succeeded", 0)
            if applied != 50:
                raise RuntimeError(f"expected 50 applied steps, got {applied}")
            timings.append(time.perf_counter() - started)
        print(f"lifecycle_50_resources_s: {statistics.median(timings):.2f}")

        ids, errors = [], []

        def create(n: int) -> None:
            try:
                intent = three_cloud_intent(10, f"concurrent-{n}")
                ids.append(http.call("POST", "/api/v1/deployments", intent)["id"])
            except Exception as exc:  # reported below; the figure is only valid if all 20 complete
                errors.append(exc)

        started = time.perf_counter()
        threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for deployment_id in ids:
            http.wait_completed(deployment_id, timeout=300)
        if errors or len(ids) != 20:
            raise RuntimeError(f"{len(errors)} of 20 creations failed: {errors[:1]}")
        print(f"concurrent_20x10_s: {time.perf_counter() - started:.2f}")

        steps = last["plan"]["step_count"]
        waves = last["plan"]["wave_count"]
        print(f"state_transitions_50_resources: {states_entered(cloud, last['execution_arn'])}")
        print(f"state_transitions_budget: {steps + waves + 12}")

        rolling = statistics.median(timings)
        canary = statistics.median(timed(http, three_cloud_intent(50, f"canary-{run}", strategy="canary"))
                                   for run in range(3))
        print(f"canary_50_resources_s: {canary:.2f}")
        print(f"canary_over_rolling: {canary / rolling:.2f}")
        updates = {}
        for strategy in ("rolling", "blue_green"):
            runs = []
            for run in range(3):
                name = f"update-{strategy.replace('_', '-')}-{run}"
                http.wait_completed(http.call("POST", "/api/v1/deployments", three_cloud_intent(50, name))["id"])
                runs.append(timed(http, three_cloud_intent(50, name, release=2, strategy=strategy)))
            updates[strategy] = statistics.median(runs)
        print(f"rolling_update_50_resources_s: {updates['rolling']:.2f}")
        print(f"blue_green_50_resources_s: {updates['blue_green']:.2f}")
        print(f"blue_green_over_rolling: {updates['blue_green'] / updates['rolling']:.2f}")


def timed(http: Http, intent: dict) -> float:
    """Seconds from POST until completed, checking every resource was changed."""
    started = time.perf_counter()
    done = http.wait_completed(http.call("POST", "/api/v1/deployments", intent)["id"])
    elapsed = time.perf_counter() - started
    if done["steps"]["by_status"].get("succeeded", 0) < len(intent["resources"]):
        raise RuntimeError(f"{intent['name']}: expected every resource changed, got {done['steps']}")
    return elapsed


if __name__ == "__main__":
    main()
