"""Waves: every step after all it depends on, each as early as possible; destroys last; cycles refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.domain.graph import CycleDetected
from orchestrator.domain.intent import DeploymentIntent
from orchestrator.planning import StepAction, build_plan

from .factories import DEPLOYMENT, ident, intent, live, res


def plan_of(*resources, inventory=(), **options):
    return build_plan(intent(*resources, **options), deployment_id=DEPLOYMENT, live=inventory, plan_id="p-1")


def names_by_wave(plan):
    return [[plan.step(sid).name for sid in wave] for wave in plan.waves]


def test_chain_runs_one_step_per_wave_in_dependency_order():
    a = res("a")
    b = res("b", deps=[ident(a)])
    c = res("c", deps=[ident(b)])
    assert names_by_wave(plan_of(c, b, a)) == [["a"], ["b"], ["c"]]


def test_diamond_runs_both_middle_steps_together():
    top = res("top", "network")
    left = res("left", deps=[ident(top)])
    right = res("right", "database", deps=[ident(top)])
    bottom = res("bottom", "load_balancer", deps=[ident(left), ident(right)])
    plan = plan_of(top, left, right, bottom)
    assert names_by_wave(plan) == [["top"], ["left", "right"], ["bottom"]]
    assert plan.step("s4").dependencies == ["s2", "s3"]


def test_independent_resources_share_the_first_wave():
    plan = plan_of(*(res(f"r{i}") for i in range(6)))
    assert names_by_wave(plan) == [[f"r{i}" for i in range(6)]]


def test_a_step_runs_as_soon_as_its_own_dependencies_are_done_not_after_unrelated_chains():
    a = res("a")
    b = res("b", deps=[ident(a)])
    c = res("c", deps=[ident(b)])
    d = res("d", deps=[ident(a)])  # only needs a: second wave, beside b
    plan = plan_of(a, b, c, d)
    assert {s.name: s.wave for s in plan.steps} == {"a": 0, "b": 1, "c": 2, "d": 1}


def test_step_ids_are_short_and_follow_intent_order_then_destroys():
    a, b = res("a"), res("b")
    gone = res("zz-gone", "storage")
    plan = plan_of(a, b, inventory=[live(gone)])
    assert [(s.step_id, s.name, s.action) for s in plan.steps] == [
        ("s1", "a", StepAction.CREATE), ("s2", "b", StepAction.CREATE), ("s3", "zz-gone", StepAction.DESTROY)]


def test_destroys_run_in_one_final_wave_after_everything_else():
    a = res("a")
    b = res("b", deps=[ident(a)])
    old1, old2 = res("old-1", "queue"), res("old-2", "cache", "gcp")
    plan = plan_of(a, b, inventory=[live(old2), live(old1)])
    assert names_by_wave(plan) == [["a"], ["b"], ["old-1", "old-2"]]
    destroys = [s for s in plan.steps if s.action == StepAction.DESTROY]
    assert {s.wave for s in destroys} == {2} and all(s.dependencies == [] for s in destroys)


def test_planner_refuses_a_cyclic_intent_that_skipped_validation():
    a, b = res("a"), res("b")
    a["dependencies"], b["dependencies"] = [ident(b)], [ident(a)]
    unchecked = DeploymentIntent.model_validate(
        {"name": "x", "description": "x", "target_providers": ["aws"], "resources": [a, b]})
    with pytest.raises(CycleDetected):
        build_plan(unchecked, deployment_id=DEPLOYMENT)


def test_planner_refuses_an_unknown_dependency_that_skipped_validation():
    a = res("a", deps=["aws/us-east-1/compute/nowhere"])
    unchecked = DeploymentIntent.model_validate(
        {"name": "x", "description": "x", "target_providers": ["aws"], "resources": [a]})
    with pytest.raises(ValueError, match="nowhere"):
        build_plan(unchecked, deployment_id=DEPLOYMENT)


@st.composite
def dags(draw):
    """A random DAG over n nodes (edges only from later to earlier indices), listed in a random order."""
    n = draw(st.integers(min_value=1, max_value=40))
    deps = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 4)))) if i else [] for i in range(n)]
    order = draw(st.permutations(range(n)))
    return deps, order


def longest_path_nodes(deps):
    depth = []
    for i in range(len(deps)):  # dependencies point to lower indices, so they are computed first
        depth.append(1 + max((depth[j] for j in deps[i]), default=0))
    return depth


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags_place_every_step_after_its_dependencies_and_as_early_as_possible(dag):
    deps, order = dag
    specs = [res(f"n{i}") for i in range(len(deps))]
    for i, spec in enumerate(specs):
        spec["dependencies"] = [ident(specs[j]) for j in deps[i]]
    plan = plan_of(*(specs[i] for i in order))
    by_name = {s.name: s for s in plan.steps}
    for step in plan.steps:
        dep_waves = [plan.step(d).wave for d in step.dependencies]
        assert all(w < step.wave for w in dep_waves)
        assert step.wave == (max(dep_waves) + 1 if dep_waves else 0)  # as early as possible
    depth = longest_path_nodes(deps)
    assert len(plan.waves) == max(depth)
    assert all(by_name[f"n{i}"].wave == depth[i] - 1 for i in range(len(deps)))
    assert sorted(sid for wave in plan.waves for sid in wave) == sorted(s.step_id for s in plan.steps)
