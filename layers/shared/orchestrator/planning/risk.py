"""How risky a plan is, and why: a few independent factors, each with a level; enough of them together is critical.

No-op steps change nothing and count for nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.catalogue import Environment, ResourceType
from .plan import PlanStep, RiskLevel, StepAction

MANY_DESTROYS = 10
LARGE_PLAN_STEPS = 100
HUGE_PLAN_STEPS = 1000
MULTI_PROVIDER = 2
# A change this many resources depend on (transitively, across stacks) is a risk factor of its own.
WIDE_BLAST_RADIUS = 10
# This many factors at once (of the five below) make a plan critical whatever their levels.
CRITICAL_FACTORS = 4
# How many identifiers a reason names before it summarises.
NAMED = 3


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    level: RiskLevel
    reasons: list[str]


def assess_risk(environment: Environment, steps: Sequence[PlanStep],
                blast_radius: Sequence[dict] = ()) -> RiskAssessment:
    destroys: list[str] = []
    database_changes: list[str] = []
    providers: set[str] = set()
    changing = 0
    for step in steps:
        action = step.action
        if action == StepAction.NO_OP:
            continue
        changing += 1
        providers.add(step.provider)
        if action == StepAction.DESTROY:
            destroys.append(step.resource_identifier)
        if step.resource_type == ResourceType.DATABASE and action != StepAction.CREATE:
            database_changes.append(step.resource_identifier)

    factors: list[tuple[RiskLevel, str]] = []
    if environment == Environment.PRODUCTION:
        factors.append((RiskLevel.MEDIUM, "targets the production environment"))
    if destroys:
        level = RiskLevel.HIGH if len(destroys) >= MANY_DESTROYS else RiskLevel.MEDIUM
        factors.append((level, f"destroys {_count(destroys, 'resource')}: {_named(destroys)}"))
    if database_changes:
        factors.append((RiskLevel.HIGH, f"updates or destroys {_count(database_changes, 'database')}, "
                                        f"risking data or downtime: {_named(database_changes)}"))
    if len(providers) >= MULTI_PROVIDER:
        factors.append((RiskLevel.MEDIUM, f"changes resources on {len(providers)} providers at once "
                                          f"({', '.join(sorted(providers))})"))
    if changing > HUGE_PLAN_STEPS:
        factors.append((RiskLevel.HIGH, f"changes {changing:,} resources (more than {HUGE_PLAN_STEPS:,})"))
    elif changing > LARGE_PLAN_STEPS:
        factors.append((RiskLevel.MEDIUM, f"changes {changing:,} resources (more than {LARGE_PLAN_STEPS:,})"))

    widest = max(blast_radius, key=lambda entry: entry["counts"]["total"], default=None)
    if widest is not None:
        total = widest["counts"]["total"]
        level = RiskLevel.HIGH if total >= WIDE_BLAST_RADIUS else RiskLevel.MEDIUM
        factors.append((level, f"changes resources others depend on: {widest['resource']} has "
                               f"{_count(['x'] * total, 'dependent')}"))

    if len(factors) >= CRITICAL_FACTORS:
        level = RiskLevel.CRITICAL
    else:
        level = max((lvl for lvl, _ in factors), key=lambda lvl: lvl.rank, default=RiskLevel.LOW)
    return RiskAssessment(level, [reason for _, reason in factors])


def _count(items: Sequence[str], noun: str) -> str:
    return f"{len(items):,} {noun}" + ("" if len(items) == 1 else "s")


def _named(identifiers: Sequence[str]) -> str:
    shown = ", ".join(identifiers[:NAMED])
    return shown if len(identifiers) <= NAMED else f"{shown} and {len(identifiers) - NAMED:,} more"
