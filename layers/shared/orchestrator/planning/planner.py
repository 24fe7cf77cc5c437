"""Build a plan from a validated intent and the live inventory: diff, waves, estimates, risk, policy and reasoning.

Sized for 5,000 resources within a few tens of milliseconds: one pass over the resources, the O(V+E) wave algorithm,
table lookups, and plan models assembled from values derived here instead of validated field by field again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain.catalogue import Provider, ResourceType
from ..domain.graph import topological_waves
from ..domain.intent import DeploymentIntent
from ..domain.lifecycle import new_id, utcnow
from ..domain.resources import CloudResource
from .blast import Dependent, blast_radius
from .diff import classify, destroyed, index_live, spec_identifier, value_changes
from .estimates import estimate, total_duration_seconds
from .freeze import CHANGE_FREEZE, FreezeWindow, freeze_message
from .plan import Plan, PlanStep, PolicyFinding, PolicyReport, RiskLevel, StepAction, trusted
from .policies import CompiledPolicy, evaluate_policy_set
from .policy import PolicyContext, PolicyResult
from .risk import RiskAssessment, assess_risk
from .strategies import describe as describe_strategy
from .strategies import expand

# Enum members as plain text, without the per-access cost of `.value`.
_TEXT: dict[str, str] = {member: member.value for enum in (Provider, ResourceType, StepAction) for member in enum}
_SPEC_FIELDS = frozenset({"resource_type", "provider", "region", "name", "properties", "tags"})
NAMED = 3


def _seconds(step: PlanStep) -> int:
    return step.estimated_duration_seconds


def idempotency_key(deployment_id: str, plan_id: str, step_id: str, action: str) -> str:
    """Deterministic, and unique per deployment, plan, step and action: a retried step finds its first result."""
    return f"{deployment_id}:{plan_id}:{step_id}:{action}"


def build_plan(intent: DeploymentIntent, *, deployment_id: str, live: Sequence[CloudResource] = (),
               plan_id: str | None = None, stack: str | None = None, policies: Sequence[CompiledPolicy] | None = None,
               dependents: Sequence[Dependent] = (),
               freeze: tuple[FreezeWindow, datetime] | None = None,
               referenced: Mapping[str, str | None] | None = None) -> Plan:
    """Plan `intent` against `live`: the inventory records its stack (default: the intent's name) owns, plus any
    record at an address the intent names (updated in place when unowned or adopted; blocked by policy when another
    stack owns it).

    Expects an intent that passed `validate_intent` (known dependencies, no cycle). Steps are numbered s1, s2, ...
    in intent order, then the destroys sorted by identifier. Only records the stack owns are ever destroyed.
    """
    plan_id = plan_id or new_id()
    stack = stack or intent.name
    resources = intent.resources

    identifiers = [spec_identifier(spec) for spec in resources]
    step_ids = [f"s{n}" for n in range(1, len(resources) + 1)]
    step_of = dict(zip(identifiers, step_ids, strict=True))
    try:
        depends_on = {sid: [step_of[dep] for dep in spec.dependencies]
                      for sid, spec in zip(step_ids, resources, strict=True)}
    except KeyError as unknown:
        raise ValueError(f"dependency {unknown} names no resource of the intent; validate it first") from None
    waves = topological_waves(step_ids, depends_on)
    wave_of = {sid: w for w, wave in enumerate(waves) for sid in wave}

    # Column by column rather than one loop doing everything: comprehensions keep 5,000 steps about 20% cheaper.
    live_by_identifier = index_live(live)
    providers = [_TEXT[spec.provider] for spec in resources]
    rtypes = [_TEXT[spec.resource_type] for spec in resources]
    create = StepAction.CREATE
    current_of = [live_by_identifier.get(identifier) for identifier in identifiers]
    changes = [(create, []) if current is None else classify(spec, current)
               for spec, current in zip(resources, current_of, strict=True)]
    estimates = [estimate(provider, rtype, action, spec.properties)
                 for provider, rtype, (action, _), spec in zip(providers, rtypes, changes, resources, strict=True)]
    keys = [idempotency_key(deployment_id, plan_id, sid, _TEXT[action])
            for sid, (action, _) in zip(step_ids, changes, strict=True)]
    steps: list[PlanStep] = [trusted(PlanStep, {
        "step_id": sid, "name": spec.name, "action": action, "provider": provider, "region": spec.region,
        "resource_type": rtype, "resource_identifier": identifier, "dependencies": depends_on[sid],
        "wave": wave_of[sid], "estimated_duration_seconds": seconds, "monthly_cost": cents / 100,
        "changed_paths": paths, "idempotency_key": key,
        "changes": value_changes(spec, current) if paths else [],
        # The spec's own field values (never mutated; the enums are str), not a copy: a dump of 5,000 specs would
        # cost more than all the rest of planning.
        "resource": vars(spec),
        "owner_stack": current.stack if current is not None else None,
    }) for sid, identifier, spec, provider, rtype, (action, paths), (seconds, cents), key, current
        in zip(step_ids, identifiers, resources, providers, rtypes, changes, estimates, keys, current_of, strict=True)]

    cents_by_provider: dict[str, int] = {}
    for provider, (_, cents) in zip(providers, estimates, strict=True):
        cents_by_provider[provider] = cents_by_provider.get(provider, 0) + cents
    # Per wave, the steps that run: no-ops do not, so they take no time and no concurrency slot.
    running: list[list[PlanStep]] = [[] for _ in waves]
    for step in steps:
        if step.action is not StepAction.NO_OP:
            running[step.wave].append(step)

    # The inventory records no dependencies between resources, so there is no safe order among destroys: they all
    # go into one final wave, after everything that may still depend on them has been updated away.
    removals = destroyed(live_by_identifier, identifiers, stack)
    if removals:
        destroy_wave = len(waves)
        waves.append([])
        running.append([])
        for n, record in enumerate(removals, start=len(steps) + 1):
            sid, identifier = f"s{n}", record.identifier
            provider, rtype = _TEXT[record.provider], _TEXT[record.resource_type]
            seconds, _ = estimate(provider, rtype, StepAction.DESTROY, record.properties)
            waves[destroy_wave].append(sid)
            cents_by_provider.setdefault(provider, 0)  # a provider left with destroys only shows $0.00
            steps.append(step := trusted(PlanStep, {
                "step_id": sid, "name": record.name, "action": StepAction.DESTROY, "provider": provider,
                "region": record.region, "resource_type": rtype, "resource_identifier": identifier,
                "dependencies": [], "wave": destroy_wave, "estimated_duration_seconds": seconds,
                "monthly_cost": 0.0, "changed_paths": [], "changes": [],
                "idempotency_key": idempotency_key(deployment_id, plan_id, sid, _TEXT[StepAction.DESTROY]),
                "resource": {**record.model_dump(mode="json", include=_SPEC_FIELDS), "dependencies": []},
                "owner_stack": record.stack,
            }))
            running[destroy_wave].append(step)

    total_seconds = total_duration_seconds(([s.estimated_duration_seconds for s in wave] for wave in running),
                                           intent.max_concurrency)
    # max() keeps the first of equals, so ties go to the earlier step.
    critical = [max(wave, key=_seconds) for wave in running if wave]
    total_cents = sum(cents_by_provider.values())

    blast, dependents_elsewhere = blast_radius(steps, intent.environment.value, dependents, stack)
    risk = assess_risk(intent.environment, steps, blast)
    policy, results = evaluate_policy_set(
        policies, PolicyContext(intent.environment, intent.auto_approve, steps, total_cents / 100, stack),
        {entry["resource"]: entry["counts"]["total"] for entry in blast})
    policy = _with_findings(policy, dependents_elsewhere, freeze, _references(resources, identifiers, referenced or {}))
    soft_blocked = bool(policy.report.overridable) and not policy.blocked
    requires_approval = not intent.auto_approve or policy.auto_approve_overridden or soft_blocked
    figures = _Figures(total_seconds, critical, total_cents, dict(sorted(cents_by_provider.items())))
    # Judged above per resource; now the steps as the strategy runs them.
    rollout = expand(intent, steps)
    bake = sum(phase.bake_seconds or 0 for phase in rollout.phases)
    reasoning = _reasoning(intent, steps, figures, risk, policy, requires_approval)
    if how := describe_strategy(intent.strategy.value, rollout):
        reasoning = f"{reasoning} {how}"
    return trusted(Plan, {
        "plan_id": plan_id, "deployment_id": deployment_id, "created_at": utcnow(), "steps": rollout.steps,
        "waves": waves, "estimated_total_duration_seconds": total_seconds + bake,
        "critical_path_seconds": figures.critical_seconds, "critical_path": [s.step_id for s in critical],
        "estimated_monthly_cost": total_cents / 100,
        "cost_breakdown": {provider: cents / 100 for provider, cents in figures.cents_by_provider.items()},
        "risk_assessment": risk.level, "risk_reasons": risk.reasons, "policy": policy.report,
        "blocked": policy.blocked, "requires_approval": requires_approval,
        "policy_results": results, "blast_radius": blast, "soft_blocked": soft_blocked,
        "auto_approve_overridden": policy.auto_approve_overridden,
        "reasoning": reasoning, "strategy": intent.strategy.value, "strategy_options": rollout.options,
        "phases": rollout.phases, "expected_downtime_seconds": rollout.expected_downtime_seconds,
    })


DEPENDENTS_EXIST = "dependents_exist"


REFERENCE_MISSING = "reference_missing"
CROSS_STACK_REFERENCE = "cross_stack_reference"


def _references(resources: Sequence[Any], identifiers: Sequence[str],
                referenced: Mapping[str, str | None]) -> list[PolicyFinding]:
    """A finding per cross-stack reference: recorded (a warning naming the stack that owns it) or missing (blocks)."""
    found = []
    for spec, identifier in zip(resources, identifiers, strict=True):
        for ref in spec.references:
            if ref in referenced:
                owner = referenced[ref]
                found.append(PolicyFinding(rule_id=CROSS_STACK_REFERENCE, resource_identifier=identifier,
                                           severity="warn", message=f"{identifier} references {ref} of "
                                           f"{f'stack {owner!r}' if owner else 'no stack (made by hand)'}"))
            else:
                found.append(PolicyFinding(rule_id=REFERENCE_MISSING, resource_identifier=identifier,
                                           severity="block", message=f"{identifier} references {ref}, which is "
                                                                     "not in the tenant's inventory"))
    return found


def _with_findings(policy: PolicyResult, elsewhere: dict[str, list[str]], freeze: tuple[FreezeWindow, datetime] | None,
                   references: list[PolicyFinding]) -> PolicyResult:
    """The policies' report plus a finding per destroyed resource other stacks depend on, change freeze in force,
    and cross-stack reference."""
    if not (elsewhere or freeze or references):
        return policy
    found: dict[str, list[PolicyFinding]] = {"block": [], "soft_block": [], "warn": []}
    for finding in references:
        found[finding.severity].append(finding)
    for identifier, dependents in elsewhere.items():
        found["soft_block"].append(PolicyFinding(
            rule_id=DEPENDENTS_EXIST, resource_identifier=identifier, severity="soft_block",
            message=f"{identifier} is destroyed but other stacks depend on it: {', '.join(dependents)}"))
    if freeze is not None:
        window, ends = freeze
        found["soft_block"].append(PolicyFinding(rule_id=CHANGE_FREEZE, severity="soft_block",
                                                 message=freeze_message(window, ends)))
    report = policy.report
    merged = PolicyReport(violations=[*report.violations, *found["block"]],
                          warnings=[*report.warnings, *found["warn"]],
                          overridable=[*report.overridable, *found["soft_block"]])
    return PolicyResult(merged, policy.auto_approve_overridden)


@dataclass(frozen=True, slots=True)
class _Figures:
    total_seconds: int
    critical: list[PlanStep]  # the slowest step of each wave that runs something
    total_cents: int
    cents_by_provider: dict[str, int]

    @property
    def critical_seconds(self) -> int:
        return sum(step.estimated_duration_seconds for step in self.critical)


def _reasoning(intent: DeploymentIntent, steps: Sequence[PlanStep], figures: _Figures, risk: RiskAssessment,
               policy: PolicyResult, requires_approval: bool) -> str:
    by_action: dict[StepAction, list[PlanStep]] = {action: [] for action in StepAction}
    for step in steps:
        by_action[step.action].append(step)
    creates, updates = by_action[StepAction.CREATE], by_action[StepAction.UPDATE]
    unchanged, destroys = by_action[StepAction.NO_OP], by_action[StepAction.DESTROY]
    sentences = []

    what = [f"create {_named(creates)}" if creates else "",
            f"update {_named(updates, changes=True)}" if updates else "",
            f"destroy {_named(destroys)}" if destroys else "",
            f"leave {len(unchanged):,} unchanged" if unchanged else ""]
    sentences.append(f"Deployment '{intent.name}' ({intent.environment.value}) will "
                     f"{_join([part for part in what if part])}.")

    running_waves = len(figures.critical)
    if running_waves == 0:
        sentences.append("Nothing needs to run: every resource already matches the intent.")
    else:
        sentence = (f"The changes run in {_plural(running_waves, 'wave')}, one after another, at most "
                    f"{intent.max_concurrency} steps at a time within a wave")
        if destroys:
            sentence += ("; destroys run last, in a wave of their own, because the inventory records no dependencies "
                         "to order them by")
        sentences.append(sentence + ".")
        slowest = ", ".join(f"{s.step_id} {s.resource_identifier}" for s in figures.critical[:NAMED])
        more = f" and {len(figures.critical) - NAMED} more" if len(figures.critical) > NAMED else ""
        sentences.append(f"The critical path, the slowest step of each wave ({slowest}{more}), takes "
                         f"{_duration(figures.critical_seconds)}; with the concurrency cap the estimated total is "
                         f"{_duration(figures.total_seconds)}.")

    breakdown = ", ".join(f"{provider} ${cents / 100:,.2f}" for provider, cents in figures.cents_by_provider.items())
    sentences.append(f"Once applied, the resources are estimated to cost ${figures.total_cents / 100:,.2f} a month "
                     f"({breakdown}).")

    if risk.level == RiskLevel.LOW:
        sentences.append("Risk is low: no production target, destroys, database changes, second provider or "
                         "large change set.")
    else:
        sentences.append(f"Risk is {risk.level.value}: the plan {'; it '.join(risk.reasons)}.")

    report = policy.report
    if report.violations:
        sentences.append(f"Policy blocks the plan with {_plural(len(report.violations), 'violation')} "
                         f"({_findings(report.violations)}); it cannot run until they are fixed.")
    elif report.warnings:
        sentences.append(f"Policy allows the plan with {_plural(len(report.warnings), 'warning')} "
                         f"({_findings(report.warnings)}).")
    else:
        sentences.append("Policy allows the plan with no findings.")
    if report.violations and report.warnings:
        sentences.append(f"It also raises {_plural(len(report.warnings), 'warning')} ({_findings(report.warnings)}).")

    if report.overridable and not report.violations:
        sentences.append(f"It waits for an admin to override {_plural(len(report.overridable), 'finding')} "
                         f"({_findings(report.overridable)}).")
    if policy.auto_approve_overridden:
        sentences.append("auto_approve is overridden in production: a person must approve the plan.")
    elif requires_approval:
        sentences.append("It waits for manual approval (auto_approve is off).")
    else:
        sentences.append("It is approved automatically (auto_approve).")
    return " ".join(sentences)


def _named(steps: Sequence[PlanStep], changes: bool = False) -> str:
    def label(step: PlanStep) -> str:
        return f"{step.resource_identifier} ({', '.join(step.changed_paths)})" if changes else step.resource_identifier

    shown = ", ".join(label(step) for step in steps[:NAMED])
    more = f" and {len(steps) - NAMED:,} more" if len(steps) > NAMED else ""
    return f"{_plural(len(steps), 'resource')}: {shown}{more}"


def _findings(findings: Sequence[Any]) -> str:
    counts = Counter(f.rule_id for f in findings)
    first = {}
    for finding in findings:
        first.setdefault(finding.rule_id, finding.message)
    return "; ".join(f"{rule} x{count}: {first[rule]}" if count > 1 else f"{rule}: {first[rule]}"
                     for rule, count in counts.items())


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _join(parts: Sequence[str]) -> str:
    if not parts:
        return "change nothing"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m ({seconds:,} s)"
    if minutes:
        return f"{minutes}m {secs:02d}s ({seconds:,} s)"
    return f"{secs} s"
