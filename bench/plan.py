"""Planning and drift benchmarks on seeded random inventories. Run: `python bench/plan.py`.

Prints one `name: value` line per figure (milliseconds, best of several runs):
  plan_1000_resources_ms    validate_intent(raw dict) + build_plan, against a live inventory holding about half the
  plan_5000_resources_ms    resources (a tenth of those changed) plus a few the intent no longer names
  drift_10000_resources_ms  detect_drift over 10,000 expected resources, with some removed, changed and added
  plan_5000_resources_with_20_policies_ms  the 5,000 plan with 20 tenant policies (the 6 defaults, 14 of every
                            declarative rule kind) and 1,000 resources of other stacks depending on the intent's
  blast_radius_5000_resources_ms  blast_radius over the 5,000 plan (its updates and destroys), each resource
                            depending on up to two earlier ones, plus the 1,000 dependents of other stacks
  blast_radius_5000_updates_ms    the same where all 5,000 resources update (the worst case)
"""

from __future__ import annotations

import gc
import pathlib
import random
import sys
import time
from collections.abc import Callable
from typing import Any

# Measure the working tree's package even where it is not installed into the interpreter.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "layers" / "shared"))

from orchestrator.domain.catalogue import REGIONS, Provider, ResourceType  # noqa: E402
from orchestrator.domain.intent import validate_intent  # noqa: E402
from orchestrator.domain.resources import CloudResource  # noqa: E402
from orchestrator.drift.detector import detect_drift  # noqa: E402
from orchestrator.planning import build_plan  # noqa: E402
from orchestrator.planning.blast import Dependent, blast_radius  # noqa: E402
from orchestrator.planning.policies import TenantPolicy, compile_policies, default_policies  # noqa: E402

SEED = 20_240_601
RUNS = 15
TENANT = "bench"
DEPLOYMENT = "bench-deployment"
SIZES = ("small", "medium", "large", "xlarge")
GLOBAL_TYPES = {ResourceType.DNS, ResourceType.CDN}
PROVIDER_REGIONS = {p: sorted(REGIONS[p] - {"global"}) for p in Provider}


def random_resources(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` resource specs over all providers and types, each depending on up to two earlier ones."""
    providers, types = list(Provider), list(ResourceType)
    resources: list[dict[str, Any]] = []
    identifiers: list[str] = []
    for i in range(count):
        provider, rtype = providers[i % len(providers)], types[i % len(types)]
        region = "global" if rtype in GLOBAL_TYPES else rng.choice(PROVIDER_REGIONS[provider])
        name = f"res-{i}"
        dependencies = rng.sample(identifiers, k=min(len(identifiers), rng.randint(0, 2)))
        properties: dict[str, Any] = {"size": rng.choice(SIZES), "network": {"cidr": f"10.{i % 256}.0.0/16"}}
        if rtype == ResourceType.COMPUTE:
            properties["count"] = rng.randint(1, 4)
        resources.append({
            "resource_type": rtype.value, "provider": provider.value, "region": region, "name": name,
            "properties": properties, "tags": {"owner": "platform", "team": f"team-{i % 7}"},
            "dependencies": dependencies,
        })
        identifiers.append(f"{provider.value}/{region}/{rtype.value}/{name}")
    return resources


def random_intent(count: int, seed: int = SEED) -> dict[str, Any]:
    return {
        "name": f"bench-{count}",
        "description": f"{count} seeded random resources across every provider and type",
        "target_providers": [p.value for p in Provider],
        "resources": random_resources(count, random.Random(seed)),
        "environment": "production",
        "auto_approve": True,
        "max_concurrency": 20,
    }


def as_cloud(spec: dict[str, Any], index: int, deployment_id: str | None = DEPLOYMENT) -> CloudResource:
    return CloudResource(
        tenant_id=TENANT, provider=spec["provider"], region=spec["region"], resource_type=spec["resource_type"],
        name=spec["name"], provider_resource_id=f"{spec['provider']}-{index:08d}",
        properties={**spec["properties"], "network": dict(spec["properties"]["network"])},
        tags=dict(spec["tags"]), deployment_id=deployment_id,
    )


def live_inventory(raw: dict[str, Any], seed: int = SEED) -> list[CloudResource]:
    """About half of the intent's resources already exist, a tenth of those changed; 1% exist only live."""
    rng = random.Random(seed + 1)
    live = []
    for i, spec in enumerate(raw["resources"]):
        if rng.random() >= 0.5:
            continue
        resource = as_cloud(spec, i)
        if rng.random() < 0.1:
            change = rng.randrange(3)
            if change == 0:
                resource.properties["size"] = "small" if spec["properties"]["size"] != "small" else "large"
            elif change == 1:
                resource.properties["network"]["cidr"] = "192.168.0.0/16"
            else:
                resource.tags["team"] = "someone-else"
        live.append(resource)
    extras = random_resources(max(1, len(raw["resources"]) // 100), random.Random(seed + 2))
    for i, spec in enumerate(extras):
        live.append(as_cloud({**spec, "name": f"gone-{i}"}, 10_000_000 + i))
    return live


def best_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    """The best wall time in milliseconds after one warm-up run: the figure least disturbed by other processes."""
    action()
    timings = []
    for _ in range(runs):
        gc.collect()  # each run starts from a clean heap instead of paying for the previous run's garbage
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings)


def bench_plan(count: int) -> float:
    raw = random_intent(count)
    live = live_inventory(raw)

    def plan() -> None:
        build_plan(validate_intent(raw), deployment_id=DEPLOYMENT, live=live, plan_id="bench-plan")

    return best_ms(plan)


POLICY_RULES: list[tuple[str, dict[str, Any]]] = [
    ("advisory", {"allowed_providers": ["aws", "azure", "gcp"]}),
    ("mandatory", {"allowed_regions": sorted(set().union(*PROVIDER_REGIONS.values()) | {"global"})}),
    ("soft_mandatory", {"allowed_resource_types": [t.value for t in ResourceType]}),
    ("advisory", {"property": "size", "in": list(SIZES)}),
    ("advisory", {"property": "network.cidr", "not_in": ["0.0.0.0/0"]}),
    ("mandatory", {"property": "encrypted", "equals": True, "resource_types": ["database"]}),
    ("advisory", {"tag_required": "owner"}),
    ("advisory", {"tag_required": "team", "values": [f"team-{i}" for i in range(7)]}),
    ("advisory", {"max_steps": 100_000}),
    ("soft_mandatory", {"max_monthly_cost": 10_000_000}),
    ("advisory", {"max_blast_radius": 10_000}),
]


def bench_policies() -> list[TenantPolicy]:
    """20 policies, as a tenant would have them: the 6 defaults (the built-in rules) and 14 of every declarative
    rule kind."""
    defaults = [TenantPolicy(id=f"d{n}", **p.model_dump()) for n, p in enumerate(default_policies())]
    own = [TenantPolicy(id=f"p{n}", name=f"policy-{n}", enforcement=enforcement, rule=rule)
           for n, (enforcement, rule) in enumerate((POLICY_RULES * 2)[:20 - len(defaults)])]
    return defaults + own


def other_stacks(raw: dict[str, Any], count: int = 1000, seed: int = SEED) -> list[Dependent]:
    """Resources of other stacks, each depending on one of the intent's."""
    rng = random.Random(seed + 5)
    specs = raw["resources"]
    return [Dependent(f"aws/us-east-1/queue/other-{i}",
                      [f"{(s := rng.choice(specs))['provider']}/{s['region']}/{s['resource_type']}/{s['name']}"],
                      "aws", rng.choice(["staging", "production"]), f"other-{i % 10}") for i in range(count)]


def bench_plan_with_policies(count: int) -> float:
    raw = random_intent(count)
    live = live_inventory(raw)
    policies = compile_policies(bench_policies())
    dependents = other_stacks(raw)

    def plan() -> None:
        build_plan(validate_intent(raw), deployment_id=DEPLOYMENT, live=live, plan_id="bench-plan",
                   policies=policies, dependents=dependents)

    return best_ms(plan)


def bench_blast_radius(count: int, *, all_update: bool = False) -> float:
    """blast_radius alone over the plan the plan benchmark makes (about a twentieth of its steps update or destroy),
    or, with `all_update`, over a plan where every resource changes (the worst case)."""
    raw = random_intent(count)
    live = live_inventory(raw)
    if all_update:
        live = [as_cloud(spec, i) for i, spec in enumerate(raw["resources"])]
        for resource in live:
            resource.properties["size"] = "small" if resource.properties["size"] != "small" else "large"
    plan = build_plan(validate_intent(raw), deployment_id=DEPLOYMENT, live=live, plan_id="bench-plan")
    dependents = other_stacks(raw)

    def radius() -> None:
        blast_radius(plan.steps, "production", dependents, raw["name"])

    return best_ms(radius)


def drift_inventories(count: int, seed: int = SEED) -> tuple[list[CloudResource], list[CloudResource]]:
    """`count` expected resources; the actual side lost 2%, had 5% changed and gained 1% created out of band."""
    rng = random.Random(seed + 3)
    specs = random_resources(count, rng)
    expected = [as_cloud(spec, i) for i, spec in enumerate(specs)]
    actual = []
    for resource in expected:
        roll = rng.random()
        if roll < 0.02:
            continue
        copy = resource.model_copy(deep=True)
        if roll < 0.07:
            copy.properties["size"] = "xlarge" if copy.properties.get("size") != "xlarge" else "small"
            copy.tags["changed-by"] = "console"
        actual.append(copy)
    for i, spec in enumerate(random_resources(count // 100, random.Random(seed + 4))):
        actual.append(as_cloud({**spec, "name": f"rogue-{i}"}, 20_000_000 + i, deployment_id=None))
    return expected, actual


def bench_drift(count: int) -> float:
    expected, actual = drift_inventories(count)

    def scan() -> None:
        detect_drift(expected, actual, deployment_id=DEPLOYMENT, tenant_id=TENANT, scan_type="scheduled")

    return best_ms(scan, runs=5)


def main() -> None:
    print(f"plan_1000_resources_ms: {bench_plan(1000):.1f}", flush=True)
    print(f"plan_5000_resources_ms: {bench_plan(5000):.1f}", flush=True)
    print(f"drift_10000_resources_ms: {bench_drift(10_000):.1f}", flush=True)
    print(f"plan_5000_resources_with_20_policies_ms: {bench_plan_with_policies(5000):.1f}", flush=True)
    print(f"blast_radius_5000_resources_ms: {bench_blast_radius(5000):.1f}", flush=True)
    print(f"blast_radius_5000_updates_ms: {bench_blast_radius(5000, all_update=True):.1f}", flush=True)


if __name__ == "__main__":
    main()
