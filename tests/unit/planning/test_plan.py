"""The plan record: compact workflow waves, step lookup, idempotency keys, reasoning, JSON round trip, payload size."""

from __future__ import annotations

import json
import time

import pytest

from orchestrator.domain.errors import NotFound
from orchestrator.domain.intent import validate_intent
from orchestrator.planning import Plan, PlanStep, StepAction, build_plan
from orchestrator.planning.schedule import schedule_phases

from .factories import DEPLOYMENT, ident, intent, live, res

STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024


def mixed_plan(**options):
    """wave 0: net (no-op), cache (create); wave 1: api (update), fn (no-op); wave 2: lb (create); then a destroy."""
    net = res("net", "network")
    cache = res("cache", "cache", "gcp")
    api = res("api", deps=[ident(net)], properties={"size": "medium"})
    fn = res("fn", "serverless", deps=[ident(net)])
    lb = res("lb", "load_balancer", deps=[ident(api)])
    inventory = [live(net), live(api, properties={"size": "small"}), live(fn), live(res("old", "queue"))]
    return build_plan(intent(net, cache, api, fn, lb, **options), deployment_id=DEPLOYMENT, live=inventory,
                      plan_id="plan-1")


def test_public_api_is_exported_from_the_package():
    import orchestrator.planning as planning

    assert set(planning.__all__) == {"build_plan", "Plan", "PlanStep", "StepAction"}
    assert StepAction.NO_OP == "no-op"


def test_waves_list_every_step_including_no_ops():
    plan = mixed_plan()
    assert plan.waves == [["s1", "s2"], ["s3", "s4"], ["s5"], ["s6"]]


def test_phase_waves_leave_out_no_ops_and_the_waves_they_empty():
    plan = mixed_plan()
    # rolling, batches of max_concurrency (10): one batch per wave that runs something
    assert [phase.name for phase in plan.phases] == ["batch 1/4", "batch 2/4", "batch 3/4", "batch 4/4"]
    assert plan.segment_waves() == {"rest": [["s2"], ["s3"], ["s5"], ["s6"]]}
    only_no_ops = build_plan(intent(res("a")), deployment_id=DEPLOYMENT, live=[live(res("a"))])
    assert only_no_ops.segment_waves() == {} and not only_no_ops.has_changes
    assert "Nothing needs to run" in only_no_ops.reasoning


def test_a_plan_stored_without_phases_runs_its_waves_as_one_phase():
    stored = mixed_plan().model_dump(mode="json")
    del stored["phases"]
    plan = Plan.model_validate(stored)
    assert plan.segment_waves() == {"rest": [["s2"], ["s3"], ["s5"], ["s6"]]}


def test_step_looks_up_by_id_and_reports_an_unknown_one():
    plan = mixed_plan()
    assert plan.step("s3").name == "api" and plan.step("s6").action == StepAction.DESTROY
    with pytest.raises(NotFound):
        plan.step("s99")
    with pytest.raises(NotFound):
        plan.step("x")


def test_step_records_the_spec_and_the_dependencies_as_step_ids():
    step = mixed_plan().step("s3")
    assert step.dependencies == ["s1"] and step.changed_paths == ["properties.size"]
    assert step.resource == {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": "api",
                             "properties": {"size": "medium"}, "tags": {"owner": "team-a"},
                             "dependencies": ["aws/us-east-1/network/net"], "references": [], "adopt": False}


def test_idempotency_key_names_deployment_plan_step_and_action():
    step = mixed_plan().step("s3")
    assert step.idempotency_key == f"{DEPLOYMENT}:plan-1:s3:update"


def test_idempotency_keys_are_deterministic_and_unique_per_plan_and_deployment():
    first, again = mixed_plan(), mixed_plan()
    keys = [s.idempotency_key for s in first.steps]
    assert keys == [s.idempotency_key for s in again.steps] and len(set(keys)) == len(keys)
    other_plan = build_plan(intent(res("a")), deployment_id=DEPLOYMENT, plan_id="plan-2")
    other_deployment = build_plan(intent(res("a")), deployment_id="dep-2", plan_id="plan-1")
    same = build_plan(intent(res("a")), deployment_id=DEPLOYMENT, plan_id="plan-1")
    assert len({p.steps[0].idempotency_key for p in (other_plan, other_deployment, same)}) == 3


def test_plan_id_is_generated_when_not_given():
    a = build_plan(intent(res("a")), deployment_id=DEPLOYMENT)
    b = build_plan(intent(res("a")), deployment_id=DEPLOYMENT)
    assert a.plan_id and a.plan_id != b.plan_id and a.deployment_id == DEPLOYMENT


def test_plan_survives_a_json_round_trip_unchanged():
    plan = mixed_plan(environment="production", auto_approve=True)
    data = json.loads(json.dumps(plan.model_dump(mode="json")))
    restored = Plan.model_validate(data)
    assert restored == plan
    assert Plan.model_validate_json(plan.model_dump_json()) == plan
    assert restored.segment_waves() == plan.segment_waves()


def test_planner_built_models_equal_what_validation_builds():
    plan = mixed_plan(environment="production")
    for step in plan.steps:
        assert PlanStep.model_validate(step.model_dump()) == step
        assert step.model_fields_set == set(PlanStep.model_fields)
    assert Plan.model_validate(plan.model_dump()).model_dump() == plan.model_dump()


def test_plan_models_are_frozen_records():
    plan = mixed_plan()
    with pytest.raises(ValueError):
        plan.steps[0].wave = 5
    copy = plan.steps[0].model_copy(update={"wave": 7})
    assert copy.wave == 7 and plan.steps[0].wave == 0


def test_reasoning_explains_changes_waves_critical_path_cost_risk_and_policy():
    plan = mixed_plan(environment="production", auto_approve=True)
    text = plan.reasoning
    assert "will create 2 resources" in text
    assert "update 1 resource: aws/us-east-1/compute/api (properties.size)" in text
    assert "destroy 1 resource: aws/us-east-1/queue/old" in text and "leave 2 unchanged" in text
    assert "4 waves" in text and "destroys run last" in text
    assert "critical path" in text and f"({plan.critical_path_seconds:,} s)" in text
    assert f"${plan.estimated_monthly_cost:,.2f} a month" in text
    assert f"Risk is {plan.risk_assessment.value}" in text and "production" in text
    assert "production-destroys" in text and "auto_approve is overridden" in text


def large_raw_intent(count):
    resources = []
    for i in range(count):
        deps = [ident(resources[j]) for j in (i - 1, i // 2) if 0 <= j < i and j != i] if i else []
        resources.append(res(f"r{i}", ("compute", "storage", "queue")[i % 3], deps=sorted(set(deps))))
    return {"name": "big", "description": "big", "target_providers": ["aws"], "resources": resources}


def test_the_stages_of_5000_steps_stay_far_below_the_step_functions_payload_limit():
    plan = build_plan(validate_intent(large_raw_intent(5000)), deployment_id=DEPLOYMENT)
    segments = plan.segment_waves()
    assert sum(len(w) for waves in segments.values() for w in waves) == 5000
    packed = schedule_phases(list(segments.values()))
    payload = json.dumps({"deployment_id": DEPLOYMENT, "plan_id": plan.plan_id, "stages": packed.stages})
    assert len(payload.encode()) < STEP_FUNCTIONS_PAYLOAD_LIMIT // 4


def test_planning_5000_resources_stays_linear_time():
    raw = large_raw_intent(5000)
    parsed = validate_intent(raw)
    started = time.perf_counter()
    build_plan(parsed, deployment_id=DEPLOYMENT)
    # Generous for shared CI machines; the benchmark (bench/plan.py) tracks the real figure (~30 ms).
    assert time.perf_counter() - started < 1.0
