"""How a strategy runs a plan: the steps it needs and the phases they run in, in order.

The planner diffs the intent into one step per resource (create, update, no-op, destroy); the strategy then decides
the phases, and for blue_green and recreate replaces an updated compute-like resource's step by several:

- rolling: each wave in batches of `batch_size` steps ("batch 1/n" ...), health-checked after each batch.
- canary: `canary_percent` of the changed compute-like resources, with the changed resources they need, first
  ("canary"); a "bake" while their health is watched; then the "rest".
- blue_green: per updated compute-like resource, a green instance next to the serving one ("green", with the
  changes green needs), a "switch" of traffic to it, a "bake", the "rest", and finally "retire" of blue.
- recreate: the updated compute-like resources are destroyed ("destroy", dependents first), then everything is
  applied ("create"); the plan states the downtime this costs.

Policies, risk and cost are judged on the per-resource steps, before this expansion: a blue/green replacement is an
update to them, as it is to the person reading the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.catalogue import ResourceType, Strategy
from ..domain.intent import DeploymentIntent
from .estimates import estimate
from .plan import PlanPhase, PlanStep, StepAction, trusted

# Resources that serve traffic from instances a strategy can stage, watch and replace.
COMPUTE_LIKE = frozenset({ResourceType.COMPUTE.value, ResourceType.CONTAINER.value, ResourceType.SERVERLESS.value})
# Resources that route traffic to a compute-like one: what a blue/green switch repoints.
ROUTING = frozenset({ResourceType.LOAD_BALANCER.value, ResourceType.DNS.value, ResourceType.CDN.value})
CHANGING = frozenset({StepAction.CREATE, StepAction.UPDATE})


@dataclass(frozen=True, slots=True)
class Rollout:
    steps: list[PlanStep]
    phases: list[PlanPhase]
    options: dict[str, Any]
    expected_downtime_seconds: int | None = None


def expand(intent: DeploymentIntent, steps: Sequence[PlanStep]) -> Rollout:
    """The steps as the strategy runs them (ids s1... kept; new steps numbered after the last) and the phases."""
    options = intent.strategy_options
    strategy = intent.strategy
    if strategy is Strategy.CANARY:
        return _canary(steps, options.canary_percent, options.bake_seconds)
    if strategy is Strategy.BLUE_GREEN:
        return _blue_green(steps, options.bake_seconds)
    if strategy is Strategy.RECREATE:
        return _recreate(steps)
    return _rolling(steps, options.batch_size or intent.max_concurrency)


def _running(steps: Sequence[PlanStep]) -> list[PlanStep]:
    return [step for step in steps if step.action is not StepAction.NO_OP]


def _by_wave(steps: Sequence[PlanStep]) -> list[PlanStep]:
    return sorted(steps, key=lambda step: step.wave)


def _with(step: PlanStep, **update: Any) -> PlanStep:
    # `trusted`, not model_copy: the values come from a step the planner already built.
    return trusted(PlanStep, {**vars(step), **update})


def _rekeyed(step: PlanStep, action: StepAction) -> PlanStep:
    """The same step doing something else: a new action needs its own idempotency key."""
    prefix = step.idempotency_key.rsplit(":", 1)[0]
    seconds, _ = estimate(step.provider, step.resource_type, action, step.resource.get("properties") or {})
    return _with(step, action=action, idempotency_key=f"{prefix}:{action.value}", estimated_duration_seconds=seconds)


def _phase(name: str, kind: str, steps: Sequence[PlanStep] = (), bake_seconds: int | None = None) -> PlanPhase:
    # `trusted`: a rolling plan of a 5,000-step chain has 5,000 phases.
    return trusted(PlanPhase, {"name": name, "kind": kind, "steps": [step.step_id for step in steps],
                               "bake_seconds": bake_seconds})


def _assemble(steps: Sequence[PlanStep], phased: list[tuple[PlanPhase, list[PlanStep]]], options: dict[str, Any],
              downtime: int | None = None) -> Rollout:
    """The plan's steps with those the strategy changed or added (`phased` lists them), and the phases."""
    changed = {step.step_id: step for _, members in phased for step in members}
    ordered = [changed.pop(step.step_id, step) for step in steps] if changed else list(steps)
    ordered += changed.values()  # the steps the strategy added
    return Rollout(steps=ordered, phases=[phase for phase, _ in phased], options=options,
                   expected_downtime_seconds=downtime)


def _rolling(steps: Sequence[PlanStep], batch_size: int) -> Rollout:
    chunks: list[list[PlanStep]] = []
    wave: int | None = None
    for step in _by_wave(_running(steps)):
        if step.wave != wave or len(chunks[-1]) == batch_size:
            chunks.append([])
            wave = step.wave
        chunks[-1].append(step)
    phased = []
    for number, chunk in enumerate(chunks, start=1):
        name = f"batch {number}/{len(chunks)}"
        phased.append((_phase(name, "batch", chunk), []))
    return _assemble(steps, phased, {"batch_size": batch_size})


def _needs(targets: Sequence[PlanStep], steps: Sequence[PlanStep]) -> list[PlanStep]:
    """`targets` and every changed step they depend on, directly or not (unchanged ones are already there)."""
    by_id = {step.step_id: step for step in steps}
    chosen: dict[str, PlanStep] = {}
    todo = list(targets)
    while todo:
        step = todo.pop()
        if step.step_id in chosen:
            continue
        chosen[step.step_id] = step
        todo.extend(dep for sid in step.dependencies
                    if (dep := by_id[sid]).action in CHANGING and dep.step_id not in chosen)
    return [step for step in steps if step.step_id in chosen]


def _canary(steps: Sequence[PlanStep], percent: int, bake_seconds: int) -> Rollout:
    options = {"canary_percent": percent, "bake_seconds": bake_seconds}
    running = _running(steps)
    candidates = [s for s in running if s.action in CHANGING and s.resource_type in COMPUTE_LIKE]
    if not candidates:  # nothing serves traffic: there is nothing to try on a few first
        return _assemble(steps, [(_phase("rest", "rest", _by_wave(running)), [])], options)
    count = max(1, len(candidates) * percent // 100)
    canary = _by_wave(_needs(candidates[:count], steps))
    chosen = {step.step_id for step in canary}
    rest = _by_wave([step for step in running if step.step_id not in chosen])
    return _assemble(steps, [
        (_phase("canary", "canary", canary), []),
        (_phase("bake", "bake", bake_seconds=bake_seconds), []),
        (_phase("rest", "rest", rest), []),
    ], options)


def _extra(base: PlanStep, number: int, action: StepAction, **update: Any) -> PlanStep:
    """A further step for `base`'s resource: its own id, key and estimate; its cost stays with `base`."""
    sid = f"s{number}"
    seconds, _ = estimate(base.provider, base.resource_type, action, base.resource.get("properties") or {})
    key = base.idempotency_key.rsplit(":", 2)[0]
    return _with(base, **{"step_id": sid, "action": action, "estimated_duration_seconds": seconds,
                          "monthly_cost": 0.0, "idempotency_key": f"{key}:{sid}:{action.value}",
                          "dependencies": [base.step_id], "changed_paths": [], **update})


def _blue_green(steps: Sequence[PlanStep], bake_seconds: int) -> Rollout:
    options = {"bake_seconds": bake_seconds}
    running = _running(steps)
    targets = [s for s in running if s.action is StepAction.UPDATE and s.resource_type in COMPUTE_LIKE]
    if not targets:  # nothing to stage next to a serving instance: a plain rollout
        return _assemble(steps, [(_phase("rest", "rest", _by_wave(running)), [])], options)
    number = max(int(step.step_id[1:]) for step in steps)
    greens = [_rekeyed(t, StepAction.GREEN) for t in targets]
    green_ids = {t.step_id for t in targets}
    needed = [s for s in _needs(targets, steps) if s.step_id not in green_ids]
    green_phase = _by_wave([*needed, *greens])
    switches = [_extra(t, number + i, StepAction.SWITCH) for i, t in enumerate(targets, start=1)]
    number += len(targets)
    retires = [_extra(t, number + i, StepAction.RETIRE) for i, t in enumerate(targets, start=1)]
    placed = green_ids | {s.step_id for s in needed}
    rest = _by_wave([s for s in running if s.step_id not in placed])
    return _assemble(steps, [
        (_phase("green", "green", green_phase), greens),
        (_phase("switch", "switch", switches), switches),
        (_phase("bake", "bake", bake_seconds=bake_seconds), []),
        (_phase("rest", "rest", rest), rest),
        (_phase("retire", "retire", retires), retires),
    ], options)


def _recreate(steps: Sequence[PlanStep]) -> Rollout:
    running = _running(steps)
    targets = [s for s in running if s.action is StepAction.UPDATE and s.resource_type in COMPUTE_LIKE]
    if not targets:
        return _assemble(steps, [(_phase("create", "create", _by_wave(running)), [])], {})
    number = max(int(step.step_id[1:]) for step in steps)
    last = max(t.wave for t in targets)
    # Dependents go first: a destroy's wave counts down from the deepest target, so its phase runs waves in order.
    destroys = _by_wave([_extra(t, number + i, StepAction.DESTROY, wave=last - t.wave, dependencies=[])
                         for i, t in enumerate(targets, start=1)])
    target_ids = {t.step_id for t in targets}
    recreated = [_rekeyed(t, StepAction.CREATE) for t in targets]
    creates = _by_wave([s for s in running if s.step_id not in target_ids] + recreated)
    return _assemble(steps, [
        (_phase("destroy", "destroy", destroys), destroys),
        (_phase("create", "create", creates), recreated),
    ], {}, _downtime(destroys, creates, target_ids))


def _downtime(destroys: Sequence[PlanStep], creates: Sequence[PlanStep], targets: set[str]) -> int:
    """From the first destroy until the last recreated resource is back: the destroy phase's waves (each as long as
    its slowest step), then the create phase's waves up to and including the last one holding a target."""
    def waves(steps: Sequence[PlanStep]) -> dict[int, int]:
        longest: dict[int, int] = {}
        for step in steps:
            longest[step.wave] = max(longest.get(step.wave, 0), step.estimated_duration_seconds)
        return longest

    down = sum(waves(destroys).values())
    last = max(step.wave for step in creates if step.step_id in targets)
    return down + sum(seconds for wave, seconds in waves(creates).items() if wave <= last)


def describe(strategy: str, rollout: Rollout) -> str:
    """One sentence for the plan's reasoning: how the strategy runs the changes."""
    phases = {phase.kind: phase for phase in rollout.phases}
    bake = phases.get("bake")
    baked = f"watched for {bake.bake_seconds:,} s" if bake else ""
    if "canary" in phases:
        return (f"Canary: {len(phases['canary'].steps):,} steps go first (the canary and the changes it needs), "
                f"are verified and {baked}, then the other {len(phases['rest'].steps):,} run.")
    if "switch" in phases:
        return (f"Blue/green: {len(phases['switch'].steps):,} compute-like resources get a green instance next to the "
                f"serving one; once verified, traffic switches to it, it is {baked}, the other changes run, then "
                "blue is retired.")
    if "destroy" in phases:
        return (f"Recreate: {len(phases['destroy'].steps):,} compute-like resources are destroyed before being "
                f"created again; expect about {rollout.expected_downtime_seconds:,} s of downtime.")
    batches = [phase for phase in rollout.phases if phase.kind == "batch"]
    if batches:
        return (f"Rolling: {len(batches):,} batches of at most {rollout.options['batch_size']} steps, each "
                "health-checked before the next starts.")
    if strategy != Strategy.ROLLING.value and rollout.phases:
        return f"Strategy {strategy}: no compute-like resource changes, so the changes run as one rollout."
    return ""
