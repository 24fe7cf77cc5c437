"""Durations (waves one after another, at most max_concurrency at once) and monthly costs from the tables."""

from __future__ import annotations

import pytest

from orchestrator.domain.catalogue import Provider, ResourceType
from orchestrator.planning import StepAction, build_plan
from orchestrator.planning.estimates import (
    CREATE_SECONDS,
    MONTHLY_PRICE_SMALL,
    estimate,
    monthly_cost_cents,
    step_duration_seconds,
    wave_makespan,
)

from .factories import DEPLOYMENT, ident, intent, live, res


def plan_of(*resources, inventory=(), **options):
    return build_plan(intent(*resources, **options), deployment_id=DEPLOYMENT, live=inventory)


def test_every_provider_and_type_has_a_duration_and_a_price():
    pairs = {(p, t) for p in Provider for t in ResourceType}
    assert set(CREATE_SECONDS) == pairs and set(MONTHLY_PRICE_SMALL) == pairs


def test_step_duration_comes_from_the_table_by_action():
    create = step_duration_seconds("aws", "database", StepAction.CREATE, {})
    assert create == CREATE_SECONDS[Provider.AWS, ResourceType.DATABASE] == 600
    assert step_duration_seconds("aws", "database", StepAction.UPDATE, {}) == create // 2
    assert 0 < step_duration_seconds("aws", "database", StepAction.DESTROY, {}) < create
    assert step_duration_seconds("aws", "database", StepAction.NO_OP, {}) == 0


def test_bigger_sizes_take_longer_and_unknown_sizes_count_as_small():
    durations = [step_duration_seconds("gcp", "compute", StepAction.CREATE, {"size": size})
                 for size in ("small", "medium", "large", "xlarge")]
    assert durations == sorted(durations) and len(set(durations)) == 4
    assert step_duration_seconds("gcp", "compute", StepAction.CREATE, {"size": "huge"}) == durations[0]
    assert step_duration_seconds("gcp", "compute", StepAction.CREATE, {"size": ["odd"]}) == durations[0]


def test_makespan_of_a_wave_is_its_longest_step_when_it_fits_the_concurrency():
    assert wave_makespan([60, 60, 60], 3) == 60
    assert wave_makespan([60, 60, 60], 1) == 180
    assert wave_makespan([60, 60, 60], 2) == 120
    assert wave_makespan([], 5) == 0


def test_makespan_places_longest_steps_first_on_the_earliest_free_slot():
    # LPT on 2 slots: 50 | 40, 30 -> slot 2 (70) ... 20 -> slot 1 (70), 10 -> 80.
    assert wave_makespan([10, 20, 30, 40, 50], 2) == 80
    assert wave_makespan([100, 1, 1, 1, 1], 2) == 100


def test_three_parallel_60_second_steps_take_60_seconds_not_180():
    dns = [res(f"zone-{i}", "dns", region="global") for i in range(3)]
    assert {s.estimated_duration_seconds for s in plan_of(*dns).steps} == {60}
    plan = plan_of(*dns)
    assert plan.estimated_total_duration_seconds == 60
    assert plan.critical_path_seconds == 60


def test_a_concurrency_cap_of_one_runs_the_same_steps_one_after_another():
    dns = [res(f"zone-{i}", "dns", region="global") for i in range(3)]
    plan = plan_of(*dns, max_concurrency=1)
    assert plan.estimated_total_duration_seconds == 180
    assert plan.critical_path_seconds == 60  # what unlimited concurrency would take


def test_total_duration_sums_the_waves_and_the_critical_path_names_each_waves_slowest_step():
    net = res("net", "network")  # 45 s
    db = res("db", "database", deps=[ident(net)])  # 600 s
    fn = res("fn", "serverless", deps=[ident(net)])  # 30 s
    plan = plan_of(net, db, fn)
    assert plan.estimated_total_duration_seconds == 45 + 600
    assert plan.critical_path == ["s1", "s2"] and plan.critical_path_seconds == 645


def test_unchanged_resources_add_no_time():
    a = res("a", "database")
    b = res("b", "dns", region="global")
    plan = plan_of(a, b, inventory=[live(a)])
    assert plan.steps[0].action == StepAction.NO_OP and plan.steps[0].estimated_duration_seconds == 0
    assert plan.estimated_total_duration_seconds == 60
    assert plan.critical_path == ["s2"]


def test_monthly_cost_comes_from_the_table_and_doubles_with_each_size():
    small = monthly_cost_cents("aws", "compute", {})
    assert small == round(MONTHLY_PRICE_SMALL[Provider.AWS, ResourceType.COMPUTE] * 100) == 3037
    assert [monthly_cost_cents("aws", "compute", {"size": s}) for s in ("medium", "large", "xlarge")] == [
        2 * small, 4 * small, 8 * small]


@pytest.mark.parametrize(("properties", "factor"), [
    ({"count": 3}, 3), ({"instances": 4}, 4), ({"count": 0}, 1), ({"count": True}, 1), ({"count": "3"}, 1),
    ({"count": 2.5}, 1), ({"count": 2, "instances": 5}, 2),
])
def test_count_or_instances_multiply_the_cost_when_a_positive_integer(properties, factor):
    assert monthly_cost_cents("gcp", "cache", properties) == factor * monthly_cost_cents("gcp", "cache", {})


def test_a_destroy_takes_time_but_costs_nothing_afterwards():
    seconds, cents = estimate("azure", "storage", StepAction.DESTROY, {"size": "large"})
    assert seconds > 0 and cents == 0


def test_plan_totals_cost_by_provider_in_cents_counting_unchanged_but_not_destroyed_resources():
    vm = res("vm", properties={"size": "large", "count": 2})  # 4 x 30.37 x 2 = 242.96
    bucket = res("bucket", "storage", "gcp")  # 2.00, already live and unchanged
    gone = res("gone", "database", "azure")
    plan = plan_of(vm, bucket, inventory=[live(bucket), live(gone)])
    assert [s.monthly_cost for s in plan.steps] == [242.96, 2.0, 0.0]
    assert plan.cost_breakdown == {"aws": 242.96, "azure": 0.0, "gcp": 2.0}
    assert plan.estimated_monthly_cost == 244.96


def test_cost_totals_are_exact_to_the_cent():
    queues = [res(f"q{i}", "queue") for i in range(10)]  # 0.40 each: floats would drift
    plan = plan_of(*queues)
    assert plan.estimated_monthly_cost == 4.0 and plan.cost_breakdown == {"aws": 4.0}
