"""Packing a plan's waves into stages of batches that fit an execution's event budget."""

from __future__ import annotations

import json

import pytest

from orchestrator.planning.schedule import (
    EVENTS_PER_BATCH,
    EVENTS_PER_STAGE,
    PHASE_EVENT_BUDGET,
    _pack,
    batch_parallelism,
    schedule,
)

HISTORY_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024


def _waves(shape: str, n: int) -> list[list[str]]:
    ids = iter(f"s{i + 1}" for i in range(n))
    if shape == "wide":
        return [list(ids)]
    if shape == "chain":
        return [[step] for step in ids]
    if shape == "tiers":
        return [[next(ids) for _ in range(n // 9 + (tier < n % 9))] for tier in range(9)]
    if shape == "alternating":  # a lone step between waves of 40: the worst case for gathering small waves
        waves: list[list[str]] = []
        remaining = list(ids)
        while remaining:
            waves += [remaining[:1], remaining[1:41]]
            remaining = remaining[41:]
        return [wave for wave in waves if wave]
    raise ValueError(shape)


SHAPES = ["wide", "chain", "tiers", "alternating"]


def _check_partition(waves: list[list[str]], packed) -> None:
    """Every step in exactly one batch; every stage after every stage holding an earlier wave's steps."""
    assert sorted(packed.batch_of) == sorted(step for wave in waves for step in wave)
    stage_of_batch = {batch: index for index, stage in enumerate(packed.stages) for batch in stage}
    assert sorted(stage_of_batch) == list(range(len(stage_of_batch)))  # batch numbers 0..n-1, each in one stage
    members: dict[int, list[str]] = {}
    for step, batch in packed.batch_of.items():
        members.setdefault(batch, []).append(step)
    assert max(map(len, members.values())) <= packed.steps_per_batch
    # Dependencies sit in earlier waves, so stage order must never put a later wave's step before an earlier one's
    # (steps in one batch run wave by wave inside it).
    last_stage_of_wave = [max(stage_of_batch[packed.batch_of[s]] for s in wave) for wave in waves]
    first_stage_of_wave = [min(stage_of_batch[packed.batch_of[s]] for s in wave) for wave in waves]
    for later in range(1, len(waves)):
        earlier = later - 1
        assert first_stage_of_wave[later] >= last_stage_of_wave[earlier]
        if first_stage_of_wave[later] == last_stage_of_wave[earlier]:
            # Two waves share a stage only inside one gathered batch, never across parallel batches.
            stage = packed.stages[first_stage_of_wave[later]]
            assert len(stage) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_a_10000_step_plan_fits_the_budget_so_apply_and_rollback_fit_one_execution(shape: str):
    waves = _waves(shape, 10_000)
    packed = schedule(waves)
    _check_partition(waves, packed)
    assert packed.events <= PHASE_EVENT_BUDGET and packed.steps_per_batch <= 16  # short tasks, within 120 s
    assert 2 * packed.events + 1_000 < HISTORY_LIMIT  # apply + rollback + the lifecycle's own states and retries
    # The execution state carries batch numbers only.
    assert len(json.dumps({"stages": packed.stages})) < PAYLOAD_LIMIT // 10


@pytest.mark.parametrize("shape", SHAPES)
def test_small_plans_keep_one_step_per_batch_and_one_stage_per_wave(shape: str):
    waves = _waves(shape, 300 if shape != "chain" else 200)
    packed = schedule(waves)
    assert packed.steps_per_batch == 1
    assert [len(stage) for stage in packed.stages] == [len(wave) for wave in waves]
    assert packed.events == EVENTS_PER_STAGE * len(waves) + EVENTS_PER_BATCH * sum(map(len, waves))


def test_batches_grow_only_as_much_as_the_budget_needs():
    waves = _waves("wide", 2_000)
    packed = schedule(waves, budget=3_000)
    assert packed.events <= 3_000
    assert packed.steps_per_batch > 1
    # One step fewer per batch would pass the budget.
    assert _pack(waves, packed.steps_per_batch - 1).events > 3_000


def test_a_big_wave_is_split_evenly():
    packed = schedule(_waves("wide", 1_000), budget=1_000)
    sizes: dict[int, int] = {}
    for batch in packed.batch_of.values():
        sizes[batch] = sizes.get(batch, 0) + 1
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_empty_plan_has_no_stages():
    assert schedule([]).stages == [] and schedule([[]]).stages == []


@pytest.mark.parametrize(("max_concurrency", "width", "expected"), [
    (40, 1, 40),   # one batch in its stage: it may use all the concurrency
    (40, 4, 10),
    (40, 40, 1),
    (40, 400, 1),  # the Map runs 40 at a time, each one step at a time
    (10, 3, 3),
])
def test_batches_share_the_deployments_concurrency(max_concurrency: int, width: int, expected: int):
    assert batch_parallelism(max_concurrency, width) == expected
