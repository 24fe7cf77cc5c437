"""Deployment strategies, executed for real: the lifecycle state machine on the emulator's Step Functions engine,
our handlers in-process, the simulated cloud on real PostgreSQL. Each strategy's guarantee is checked with its
fault injected: an unhealthy rolling batch or canary, a blue/green failure before and after the switch."""

from __future__ import annotations

import threading
import time

import pytest
from api_client import Api

pytestmark = pytest.mark.integration

SETTLED = {"completed", "failed", "rolled_back", "cancelled", "rejected"}
NET = "aws/us-east-1/network/net"


@pytest.fixture
def operator(admin: Api, tenant: str) -> Api:
    return admin.create_user("operator", tenant)


def web(name: str, version: int, *, kind: str = "compute", simulate: dict | None = None, deps=(NET,)) -> dict:
    properties = {"image": f"web:{version}"}
    if simulate:
        properties["simulate"] = simulate
    return {"resource_type": kind, "provider": "aws", "region": "us-east-1", "name": name,
            "properties": properties, "dependencies": list(deps)}


def stack(name: str, version: int, *, strategy: str = "rolling", options: dict | None = None,
          overrides: dict[str, dict] | None = None, lb_simulate: dict | None = None, computes: int = 4) -> dict:
    """A network, `computes` compute instances on it, and a load balancer and a DNS zone in front of them."""
    overrides = overrides or {}
    names = [f"web{i}" for i in range(computes)]
    lb = {"resource_type": "load_balancer", "provider": "aws", "region": "us-east-1", "name": "lb",
          # a fault to inject comes with a change, so the load balancer's step really runs
          "properties": {"listeners": [443, 8443], "simulate": lb_simulate} if lb_simulate else {"listeners": [443]},
          "dependencies": [f"aws/us-east-1/compute/{n}" for n in names]}
    dns = {"resource_type": "dns", "provider": "aws", "region": "global", "name": "shop",
           "properties": {"domain": "shop.example.com"}, "dependencies": ["aws/us-east-1/load_balancer/lb"]}
    return {
        "name": name, "description": "strategy tests", "target_providers": ["aws"], "environment": "staging",
        "auto_approve": True, "strategy": strategy, "strategy_options": options or {},
        "resources": [{"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "net",
                       "properties": {"cidr": "10.0.0.0/16"}},
                      *[overrides.get(n) or web(n, version) for n in names], lb, dns],
    }


def deploy_and_wait(api: Api, body: dict, timeout: float = 90) -> dict:
    created = api.deploy(body)
    return api.wait_for(created["id"], SETTLED, timeout=timeout)


def inventory(api: Api) -> dict[str, dict]:
    return {r["resource_identifier"]: r for r in api.resources()}


def standby(api: Api, resource: dict) -> dict | None:
    reply = api.call("GET", f"/api/v1/cloud/resources/{resource['id']}")
    assert reply.status == 200, reply.body
    return reply.body["standby"]


def steps_by_phase(api: Api, deployment_id: str) -> dict[str, list[dict]]:
    phases: dict[str, list[dict]] = {}
    for step in api.steps(deployment_id):
        phases.setdefault(step["phase"], []).append(step)
    return phases


def event_types(api: Api, deployment_id: str) -> list[str]:
    return [e["type"] for e in api.events(deployment_id)]


def execution_states(local_cloud, execution_arn: str) -> list[str]:
    history = local_cloud.emulator.execution_history(execution_arn)
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


# --- rolling ---------------------------------------------------------------------------------------------------------


def test_rolling_runs_each_wave_in_batches_and_records_the_phase_of_each_step(operator: Api):
    done = deploy_and_wait(operator, stack("roll", 1, options={"batch_size": 2}))
    assert done["status"] == "completed", done
    assert done["phase"] is None  # idle once settled
    phases = [p["name"] for p in done["plan"]["phases"]]
    # net | web0-3 in batches of 2 | lb | dns
    assert phases == ["batch 1/5", "batch 2/5", "batch 3/5", "batch 4/5", "batch 5/5"]
    assert [p["steps"] for p in done["plan"]["phases"]] == [1, 2, 2, 1, 1]
    by_phase = steps_by_phase(operator, done["id"])
    assert sorted(s["name"] for s in by_phase["batch 2/5"] + by_phase["batch 3/5"]) == ["web0", "web1", "web2", "web3"]
    # batch 3 started only after batch 2 finished
    assert max(s["finished_at"] for s in by_phase["batch 2/5"]) <= min(s["started_at"] for s in by_phase["batch 3/5"])


def test_rolling_stops_at_the_first_unhealthy_batch_and_rolls_back(operator: Api):
    before = inventory(operator)
    sick = web("web2", 1, simulate={"unhealthy": True})
    done = deploy_and_wait(operator, stack("roll-sick", 1, options={"batch_size": 2}, overrides={"web2": sick}))
    assert done["status"] == "rolled_back", done
    assert "HealthCheckFailed" in done["error_message"] and "web2" in done["error_message"]
    by_phase = steps_by_phase(operator, done["id"])
    # batch 3 (web2, web3) failed its health check; nothing after it ran
    assert all(s["status"] == "pending" for name in ("batch 4/5", "batch 5/5") for s in by_phase[name])
    assert all(s["rolled_back"] for s in by_phase["batch 1/5"] + by_phase["batch 2/5"] + by_phase["batch 3/5"])
    assert inventory(operator) == before


# --- canary ----------------------------------------------------------------------------------------------------------


def test_canary_goes_first_bakes_then_runs_the_rest(operator: Api, local_cloud):
    body = stack("can", 1, strategy="canary", options={"canary_percent": 25, "bake_seconds": 2})
    created = operator.deploy(body)
    seen_bake = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = operator.get(created["id"])
        if current["phase"] == "bake":
            seen_bake = current
        if current["status"] in SETTLED:
            break
        time.sleep(0.1)
    assert current["status"] == "completed", current
    assert seen_bake is not None and seen_bake["phase_ends_at"], "the bake was never shown"
    plan = current["plan"]
    assert [(p["name"], p["steps"]) for p in plan["phases"]] == [("canary", 2), ("bake", 0), ("rest", 5)]
    by_phase = steps_by_phase(operator, created["id"])
    # 25% of 4 computes: web0, with the network it needs
    assert sorted(s["name"] for s in by_phase["canary"]) == ["net", "web0"]
    assert max(s["finished_at"] for s in by_phase["canary"]) <= min(s["started_at"] for s in by_phase["rest"])
    types = event_types(operator, created["id"])
    assert {"phase_verified", "bake_started"} <= set(types)
    states = execution_states(local_cloud, created["execution_arn"])
    assert states.index("CanaryPhase") < states.index("VerifyPhase") < states.index("Bake") \
        < states.index("RestPhase") < states.index("VerifyDeployment")


def test_an_unhealthy_canary_rolls_back_the_canary_only(operator: Api):
    before = inventory(operator)
    sick = web("web0", 1, simulate={"unhealthy": True})
    done = deploy_and_wait(operator, stack("can-sick", 1, strategy="canary",
                                           options={"canary_percent": 25, "bake_seconds": 1},
                                           overrides={"web0": sick}))
    assert done["status"] == "rolled_back", done
    assert "HealthCheckFailed" in done["error_message"]
    by_phase = steps_by_phase(operator, done["id"])
    assert all(s["rolled_back"] for s in by_phase["canary"])
    assert all(s["status"] == "pending" and not s["rolled_back"] for s in by_phase["rest"]), "the rest was touched"
    assert inventory(operator) == before


def test_a_canary_marked_unhealthy_during_the_bake_rolls_back_the_canary_only(operator: Api):
    # The canary updates web0 of a live stack; the rest would update web1-3.
    assert deploy_and_wait(operator, stack("can-bake", 1))["status"] == "completed"
    before = inventory(operator)
    created = operator.deploy(stack("can-bake", 2, strategy="canary",
                                    options={"canary_percent": 25, "bake_seconds": 8}))
    deadline = time.monotonic() + 60
    while operator.get(created["id"])["phase"] != "bake":
        assert time.monotonic() < deadline, "never baked"
        time.sleep(0.05)
    canary = inventory(operator)["aws/us-east-1/compute/web0"]
    assert canary["properties"]["image"] == "web:2"
    reply = operator.call("PATCH", f"/api/v1/cloud/resources/{canary['id']}", {"health": "unhealthy"})
    assert reply.status == 200, reply.body
    done = operator.wait_for(created["id"], SETTLED, timeout=60)
    assert done["status"] == "rolled_back", done
    assert "web0" in done["error_message"]
    after = inventory(operator)
    # web0 is back to version 1; web1-3 were never touched
    assert after["aws/us-east-1/compute/web0"]["properties"] == before["aws/us-east-1/compute/web0"]["properties"]
    for name in ("web1", "web2", "web3"):
        ident = f"aws/us-east-1/compute/{name}"
        assert after[ident] == before[ident]
    by_phase = steps_by_phase(operator, created["id"])
    assert all(s["status"] == "pending" for s in by_phase["rest"])


# --- blue/green ------------------------------------------------------------------------------------------------------


class ServingWatcher:
    """Polls the simulated cloud for the resource's serving instance, recording every moment it was missing or
    unhealthy, and each distinct instance that served."""

    def __init__(self, tenant: str, identifier: str):
        from orchestrator.wiring import services

        self.provider = services().provider
        self.tenant, self.identifier = tenant, identifier
        self.bad: list[str] = []
        self.served: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServingWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            serving = self.provider.serving(self.tenant, self.identifier)
            self.polls += 1
            if serving is None:
                self.bad.append("missing")
            elif serving.health != "healthy":
                self.bad.append(f"{serving.provider_resource_id} {serving.health}")
            elif not self.served or self.served[-1] != serving.provider_resource_id:
                self.served.append(serving.provider_resource_id)
            time.sleep(0.005)


WEB0 = "aws/us-east-1/compute/web0"


def _blue_green_v2(name: str, **kwargs) -> dict:
    return stack(name, 2, strategy="blue_green", options={"bake_seconds": 1}, computes=2, **kwargs)


def test_blue_green_switches_to_a_verified_green_and_retires_blue_never_leaving_the_resource_unserved(
        operator: Api, tenant: str, local_cloud):
    assert deploy_and_wait(operator, stack("bg", 1, computes=2))["status"] == "completed"
    blue = inventory(operator)[WEB0]
    with ServingWatcher(tenant, WEB0) as watcher:
        done = deploy_and_wait(operator, _blue_green_v2("bg"))
    assert done["status"] == "completed", done["error_message"]
    assert watcher.polls > 20 and watcher.bad == []
    after = inventory(operator)[WEB0]
    assert after["id"] == blue["id"] and after["properties"]["image"] == "web:2"
    assert after["provider_resource_id"] != blue["provider_resource_id"]  # green serves now
    assert watcher.served == [blue["provider_resource_id"], after["provider_resource_id"]]
    assert standby(operator, after) is None  # blue retired
    plan = done["plan"]
    assert [(p["name"], p["steps"]) for p in plan["phases"]] == [
        ("green", 2), ("switch", 2), ("bake", 0), ("rest", 0), ("retire", 2)]
    switched = [e for e in operator.events(done["id"]) if e["type"] == "traffic_switched"]
    assert len(switched) == 2 and "aws/us-east-1/load_balancer/lb" in switched[0]["detail"]["routes"]
    states = execution_states(local_cloud, done["execution_arn"])
    assert states.index("GreenPhase") < states.index("SwitchTraffic") < states.index("Bake") \
        < states.index("RetireBlue") < states.index("VerifyDeployment")


def test_blue_green_failure_before_the_switch_destroys_green_and_leaves_blue_untouched(operator: Api, tenant: str):
    assert deploy_and_wait(operator, stack("bg-pre", 1, computes=2))["status"] == "completed"
    before = inventory(operator)
    sick = web("web0", 2, simulate={"unhealthy": True})
    with ServingWatcher(tenant, WEB0) as watcher:
        done = deploy_and_wait(operator, _blue_green_v2("bg-pre", overrides={"web0": sick}))
    assert done["status"] == "rolled_back", done
    assert "green" in done["error_message"]
    assert watcher.bad == [] and watcher.served == [before[WEB0]["provider_resource_id"]]
    after = inventory(operator)
    assert after == before  # blue untouched (same version), green gone
    assert standby(operator, after[WEB0]) is None
    assert all(s["status"] == "pending" for s in steps_by_phase(operator, done["id"])["switch"])


def test_blue_green_failure_after_the_switch_switches_back_then_destroys_green(operator: Api, tenant: str):
    assert deploy_and_wait(operator, stack("bg-post", 1, computes=2))["status"] == "completed"
    before = inventory(operator)
    # The load balancer's update runs after the switch (rest) and fails every attempt.
    body = _blue_green_v2("bg-post", lb_simulate={"fail_apply": "always"})
    with ServingWatcher(tenant, WEB0) as watcher:
        done = deploy_and_wait(operator, body)
    assert done["status"] == "rolled_back", done
    assert watcher.bad == []
    blue_id = before[WEB0]["provider_resource_id"]
    assert watcher.served[0] == blue_id and watcher.served[-1] == blue_id and len(watcher.served) == 3
    after = inventory(operator)
    assert after[WEB0]["provider_resource_id"] == blue_id and after[WEB0]["properties"]["image"] == "web:1"
    assert standby(operator, after[WEB0]) is None  # green destroyed
    by_phase = steps_by_phase(operator, done["id"])
    assert all(s["status"] == "succeeded" and s["rolled_back"] for s in by_phase["switch"])


# --- recreate and no-change runs -------------------------------------------------------------------------------------


def test_recreate_destroys_then_creates_and_the_plan_states_the_downtime(operator: Api):
    assert deploy_and_wait(operator, stack("rc", 1, computes=2))["status"] == "completed"
    done = deploy_and_wait(operator, stack("rc", 2, strategy="recreate", computes=2))
    assert done["status"] == "completed", done
    plan = done["plan"]
    assert [(p["name"], p["steps"]) for p in plan["phases"]] == [("destroy", 2), ("create", 2)]
    assert plan["expected_downtime_seconds"] > 0 and "downtime" in plan["reasoning"]
    by_phase = steps_by_phase(operator, done["id"])
    assert max(s["finished_at"] for s in by_phase["destroy"]) <= min(s["started_at"] for s in by_phase["create"])
    assert inventory(operator)[WEB0]["properties"]["image"] == "web:2"


def test_an_unchanged_redeploy_completes_without_approval_or_apply(operator: Api, local_cloud):
    assert deploy_and_wait(operator, stack("same", 1, computes=1))["status"] == "completed"
    before = inventory(operator)
    again = stack("same", 1, computes=1)
    again["auto_approve"] = False
    done = deploy_and_wait(operator, again, timeout=30)
    assert done["status"] == "completed", done
    types = event_types(operator, done["id"])
    assert "no_changes" in types and "approval_requested" not in types and "execution_started" not in types
    assert done["approval"]["required"] is False and done["phase"] is None
    assert inventory(operator) == before
    assert "ExecuteWaves" not in execution_states(local_cloud, done["execution_arn"])
