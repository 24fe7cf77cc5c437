"""How the state machine walks a plan's waves without outgrowing a Step Functions execution.

A Standard execution stops at 25,000 history events and carries at most 256 KB between states. The apply and the
rollback run in one execution, so each gets an event budget, and the waves are packed into *stages* (run one after
another by the outer Map) of *batches* (run in parallel by the inner Map; one task invocation each). A batch holds
the steps of one wave, or of several consecutive small waves, which its task applies wave by wave. Events:

    6 per stage (the outer iteration and the inner Map's four) + 7 per batch (its iteration and the task's five)

Small plans get one step per batch and one stage per wave, exactly the per-step fan-out (most parallel, most
visible); only when that would pass the budget does the packer put more steps in each batch, the fewest it can.
The execution state carries batch numbers only (the steps live in the database), so its size is bounded by the
budget too. See docs/adr/0024-batched-steps-within-step-functions-limits.md for the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Events for the apply phase and for a rollback of it; with the lifecycle's fixed states (under 60) and the retry
# events of transient faults (3 per attempt), both fit the 25,000-event history of one execution.
PHASE_EVENT_BUDGET = 10_000
EVENTS_PER_STAGE = 6
EVENTS_PER_BATCH = 7


@dataclass(frozen=True, slots=True)
class Schedule:
    """`stages[i]` lists the batch numbers that run in parallel in stage i; `batch_of[step_id]` is a step's batch;
    `phase_of_stage[i]` the phase (of those packed together) stage i belongs to: no batch spans two phases."""

    stages: list[list[int]]
    batch_of: dict[str, int]
    steps_per_batch: int
    phase_of_stage: list[int]

    def phase_stages(self, phase: int) -> list[list[int]]:
        return [stage for stage, owner in zip(self.stages, self.phase_of_stage, strict=True) if owner == phase]

    @property
    def events(self) -> int:
        return EVENTS_PER_STAGE * len(self.stages) + EVENTS_PER_BATCH * sum(map(len, self.stages))


def _pack(phases: Sequence[Sequence[Sequence[str]]], size: int) -> Schedule:
    stages: list[list[int]] = []
    phase_of_stage: list[int] = []
    batch_of: dict[str, int] = {}
    batches = 0
    merging: list[str] = []  # consecutive small waves of one phase gathered into one batch
    phase = 0

    def close_merge() -> None:
        nonlocal batches, merging
        if merging:
            for step_id in merging:
                batch_of[step_id] = batches
            stages.append([batches])
            phase_of_stage.append(phase)
            batches += 1
            merging = []

    for phase, waves in enumerate(phases):  # noqa: B007 - close_merge reads the current phase
        for wave in waves:
            if not wave:
                continue
            if size > 1 and len(wave) < size:
                if len(merging) + len(wave) > size:
                    close_merge()
                merging.extend(wave)
                continue
            close_merge()
            # A big wave (or every wave when size is 1): split evenly into ceil(n / size) batches.
            count = -(-len(wave) // size)
            stage = list(range(batches, batches + count))
            for index, step_id in enumerate(wave):
                batch_of[step_id] = batches + index * count // len(wave)
            stages.append(stage)
            phase_of_stage.append(phase)
            batches += count
        close_merge()  # a batch never spans two phases
    return Schedule(stages=stages, batch_of=batch_of, steps_per_batch=size, phase_of_stage=phase_of_stage)


def schedule(waves: Sequence[Sequence[str]], *, budget: int | None = None) -> Schedule:
    """The finest packing of one phase's waves whose events fit `budget` (see `schedule_phases`)."""
    return schedule_phases([waves], budget=budget)


def schedule_phases(phases: Sequence[Sequence[Sequence[str]]], *, budget: int | None = None) -> Schedule:
    """The finest packing of phases (each a list of waves, run one phase after another) whose events together fit
    `budget` (default PHASE_EVENT_BUDGET): one step per batch when it fits, else the smallest batch size that does
    (found by doubling, then bisecting; events fall as the size grows)."""
    budget = PHASE_EVENT_BUDGET if budget is None else budget
    best = _pack(phases, 1)
    if best.events <= budget:
        return best
    low, high = 1, 2
    while (candidate := _pack(phases, high)).events > budget:
        low, high = high, high * 2
    best = candidate
    while high - low > 1:
        middle = (low + high) // 2
        candidate = _pack(phases, middle)
        if candidate.events <= budget:
            high, best = middle, candidate
        else:
            low = middle
    return best


def batch_parallelism(max_concurrency: int, batches_in_stage: int) -> int:
    """Steps a batch applies at once: the stage's Map runs min(max_concurrency, batches) batches together, and the
    batches share max_concurrency between them."""
    return max(1, max_concurrency // max(1, min(max_concurrency, batches_in_stage)))
