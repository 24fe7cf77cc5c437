"""How each strategy shapes a plan: its phases, the steps it adds, what runs first, and the packing of its segments."""

from __future__ import annotations

from orchestrator.domain.intent import validate_intent
from orchestrator.planning import StepAction, build_plan
from orchestrator.planning.plan import Plan
from orchestrator.planning.schedule import schedule_phases

from .factories import DEPLOYMENT, ident, live, res

NET = res("net", "network")
WEB = [res(f"web{i}", deps=[ident(NET)], properties={"image": "v2"}) for i in range(6)]
LB = res("lb", "load_balancer", deps=[ident(w) for w in WEB])
DB = res("db", "database", deps=[ident(NET)], properties={"size": "large"})


def plan(strategy: str, *, live_names: tuple[str, ...] = (), options: dict | None = None,
         resources: list | None = None, max_concurrency: int = 10) -> Plan:
    resources = resources or [NET, *WEB, LB]
    intent = validate_intent({"name": "checkout", "description": "strategy test", "target_providers": ["aws"],
                              "resources": resources, "strategy": strategy, "strategy_options": options or {},
                              "max_concurrency": max_concurrency})
    records = [live(r, properties={"image": "v1"} if r["resource_type"] == "compute" else None)
               for r in resources if r["name"] in live_names]
    return build_plan(intent, deployment_id=DEPLOYMENT, live=records)


def names(p: Plan, phase: str) -> list[str]:
    found = next(ph for ph in p.phases if ph.name == phase)
    return [p.step(sid).name for sid in found.steps]


def test_rolling_cuts_each_wave_into_batches_of_batch_size_defaulting_to_max_concurrency():
    p = plan("rolling", options={"batch_size": 4})
    assert [(ph.name, len(ph.steps)) for ph in p.phases] == [
        ("batch 1/4", 1), ("batch 2/4", 4), ("batch 3/4", 2), ("batch 4/4", 1)]
    assert names(p, "batch 3/4") == ["web4", "web5"]
    assert p.strategy_options == {"batch_size": 4}
    default = plan("rolling", max_concurrency=3)
    assert [len(ph.steps) for ph in default.phases] == [1, 3, 3, 1] and default.strategy_options == {"batch_size": 3}
    assert "Rolling: 4 batches" in p.reasoning


def test_canary_takes_its_share_of_changed_compute_with_what_it_needs_and_bakes_before_the_rest():
    p = plan("canary", options={"canary_percent": 34, "bake_seconds": 60})
    assert [(ph.name, ph.kind) for ph in p.phases] == [("canary", "canary"), ("bake", "bake"), ("rest", "rest")]
    # 34% of 6 computes is 2, with the network they need; the load balancer waits for the rest
    assert names(p, "canary") == ["net", "web0", "web1"]
    assert names(p, "rest") == ["web2", "web3", "web4", "web5", "lb"]
    assert p.phases[1].bake_seconds == 60 and p.estimated_total_duration_seconds >= 60
    # an unchanged dependency is already there: it does not run
    unchanged_net = plan("canary", live_names=("net",), options={"canary_percent": 1})
    assert names(unchanged_net, "canary") == ["web0"]


def test_canary_without_compute_changes_is_one_rollout():
    p = plan("canary", resources=[NET, DB])
    assert [ph.name for ph in p.phases] == ["rest"]
    assert "no compute-like resource changes" in p.reasoning


def test_blue_green_stages_green_switches_bakes_and_retires_each_updated_compute():
    p = plan("blue_green", live_names=("web0", "web1"), options={"bake_seconds": 30})
    assert [ph.name for ph in p.phases] == ["green", "switch", "bake", "rest", "retire"]
    assert names(p, "green") == ["net", "web0", "web1"]  # the network is new: green needs it first
    assert names(p, "switch") == names(p, "retire") == ["web0", "web1"]
    assert names(p, "rest") == ["web2", "web3", "web4", "web5", "lb"]  # creates have no blue to replace
    actions = {(s.name, s.action) for s in p.steps}
    assert {("web0", StepAction.GREEN), ("web0", StepAction.SWITCH), ("web0", StepAction.RETIRE)} <= actions
    keys = [s.idempotency_key for s in p.steps]
    assert len(keys) == len(set(keys)) and all(s.idempotency_key.endswith(f":{s.action.value}") for s in p.steps)
    switch = next(s for s in p.steps if s.action is StepAction.SWITCH and s.name == "web0")
    green = next(s for s in p.steps if s.action is StepAction.GREEN and s.name == "web0")
    assert switch.dependencies == [green.step_id] and switch.monthly_cost == 0
    # the cost is the resource's, once
    assert p.estimated_monthly_cost == plan("rolling", live_names=("web0", "web1")).estimated_monthly_cost


def test_recreate_destroys_dependents_first_then_creates_and_states_the_downtime():
    chained = [NET, res("api", "container", deps=[ident(NET)], properties={"v": 2}),
               res("fn", "serverless", deps=[ident(NET), "aws/us-east-1/container/api"], properties={"v": 2})]
    intent = validate_intent({"name": "checkout", "description": "d", "target_providers": ["aws"],
                              "resources": chained, "strategy": "recreate"})
    records = [live(r, properties={"v": 1}) for r in chained[1:]] + [live(NET)]
    p = build_plan(intent, deployment_id=DEPLOYMENT, live=records)
    assert [ph.name for ph in p.phases] == ["destroy", "create"]
    destroy = [p.step(sid) for sid in p.phases[0].steps]
    assert [(s.name, s.action) for s in destroy] == [("fn", StepAction.DESTROY), ("api", StepAction.DESTROY)]
    assert [(p.step(sid).name, p.step(sid).action) for sid in p.phases[1].steps] == [
        ("api", StepAction.CREATE), ("fn", StepAction.CREATE)]
    # both destroys, then the creates up to fn's wave, each as long as its slowest step
    assert p.expected_downtime_seconds == sum(s.estimated_duration_seconds for s in destroy) + sum(
        p.step(sid).estimated_duration_seconds for sid in p.phases[1].steps)
    assert f"about {p.expected_downtime_seconds:,} s of downtime" in p.reasoning


def test_segments_keep_phases_apart_and_let_rolling_batches_share_a_task():
    p = plan("blue_green", live_names=("web0",))
    segments = p.segment_waves()
    assert list(segments) == ["green", "switch", "rest", "retire"]
    packed = schedule_phases(list(segments.values()))
    for index, waves in enumerate(segments.values()):
        batches = {b for stage in packed.phase_stages(index) for b in stage}
        assert batches == {packed.batch_of[sid] for wave in waves for sid in wave}
    # a chain of 1,000 rolling batches of one step fits the event budget by sharing tasks, never spanning segments
    chain = [res("n0", "network")] + [res(f"n{i}", "network", deps=[f"aws/us-east-1/network/n{i - 1}"])
                                      for i in range(1, 1000)]
    long = plan("rolling", resources=chain)
    assert len(long.phases) == 1000
    packed = schedule_phases(list(long.segment_waves().values()))
    assert packed.events <= 10_000 and packed.steps_per_batch > 1
