"""Tenant policy sets: declarative rules a tenant writes (JSON), each with an enforcement level.

A rule says what every resource (or the plan) must satisfy; a resource that does not is a hit. The policy's result
is `passed` without hits, otherwise its enforcement decides: `advisory` (a warning), `soft_mandatory` (blocks until
an admin overrides it with a reason), `mandatory` (blocks). Rules are checked on write (`compile_rule`), so the
planner only ever evaluates compiled, valid rules: plain data passed in by the use case, loaded once per plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..domain.catalogue import REGIONS, Environment, Provider, ResourceType
from ..domain.errors import FieldError, ValidationFailed
from .plan import PlanStep, PolicyFinding, PolicyReport, StepAction, trusted
from .policy import ALWAYS, DEFAULT_SET, RULES, PolicyContext, PolicyResult, evaluate

Enforcement = Literal["advisory", "soft_mandatory", "mandatory"]
PolicyOutcome = Literal["passed", "advisory", "soft_blocked", "blocked"]
RESULT_OF: dict[str, PolicyOutcome] = {"advisory": "advisory", "soft_mandatory": "soft_blocked",
                                       "mandatory": "blocked"}
# Per-resource rules look at what the plan leaves in place (creates, updates, no-ops), not at what it destroys.
DESIRED = frozenset({StepAction.CREATE, StepAction.UPDATE, StepAction.NO_OP})
PolicyName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\w .:@/+-]+$")]
_ABSENT = object()
MAX_LIST = 200


class PolicyIn(BaseModel):
    """A policy as a client writes it (POST, PUT)."""

    model_config = ConfigDict(extra="forbid")

    name: PolicyName
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    environments: list[Environment] = Field(default_factory=list, max_length=len(Environment),
                                            description="Where it applies; empty: every environment")
    enforcement: Enforcement
    rule: dict[str, Any] = Field(description="One declarative rule; see the README's policy table")


class TenantPolicy(PolicyIn):
    id: str


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """What plan-wide rules look at."""

    steps: Sequence[PlanStep]
    monthly_cost: float
    # Per changed resource (update or destroy), how many resources depend on it.
    blast_radius: dict[str, int]


Check = Callable[[PlanFacts], list[str]]  # the identifiers hit; [""] for a plan-wide hit
BUILTIN_IDS = frozenset(rule.id for rule in DEFAULT_SET)


@dataclass(frozen=True, slots=True)
class Builtin:
    """A rule of `policy.DEFAULT_SET`, run by `policy.evaluate` with its own outcomes, which the policy's
    enforcement then re-grades."""

    rule_id: str

    def __call__(self, facts: PlanFacts) -> list[str]:
        return []


def default_policies() -> list[PolicyIn]:
    """A tenant's set before it changes anything: today's built-in rules, each with its own outcomes."""
    return [PolicyIn(name=rule.id, description=rule.description, enforcement="mandatory",
                     rule={"builtin": rule.id}) for rule in DEFAULT_SET]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    id: str
    name: str
    enforcement: Enforcement
    environments: frozenset[Environment]
    check: Check

    def applies_to(self, environment: Environment) -> bool:
        return not self.environments or environment in self.environments


def _fail(*loc: str | int, msg: str) -> ValidationFailed:
    return ValidationFailed([FieldError(("rule", *loc), msg)])


def _text_list(rule: dict[str, Any], key: str, allowed: frozenset[str] | None = None) -> frozenset[str]:
    values = rule[key]
    if not isinstance(values, list) or not values or len(values) > MAX_LIST:
        raise _fail(key, msg=f"must be a non-empty list of at most {MAX_LIST} strings")
    for n, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise _fail(key, n, msg="must be a non-empty string")
        if allowed is not None and value not in allowed:
            raise _fail(key, n, msg=f"'{value}' is not one of {', '.join(sorted(allowed))}")
    return frozenset(values)


def _number(rule: dict[str, Any], key: str, *, integer: bool) -> float:
    value = rule[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0 or value > 10**12:
        raise _fail(key, msg=f"must be a {'whole ' if integer else ''}number between 0 and 10^12")
    return value


def _only(rule: dict[str, Any], allowed: set[str]) -> None:
    for key in rule:
        if key not in allowed:
            raise _fail(key, msg=f"unexpected with this rule; allowed keys: {', '.join(sorted(allowed))}")


def _desired(steps: Sequence[PlanStep]) -> list[PlanStep]:
    return [s for s in steps if s.action in DESIRED]


def _lookup(properties: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = properties
    for part in path:
        if not isinstance(value, dict):
            return _ABSENT
        value = value.get(part, _ABSENT)
        if value is _ABSENT:
            return _ABSENT
    return value


def compile_rule(rule: Any) -> Check:
    """The rule as a check, or `ValidationFailed` naming the bad part (locations start with "rule")."""
    if not isinstance(rule, dict) or not rule:
        raise ValidationFailed([FieldError(("rule",), "must be an object holding one rule")])
    if "builtin" in rule:
        _only(rule, {"builtin"})
        if rule["builtin"] not in BUILTIN_IDS:
            raise _fail("builtin", msg=f"must be one of {', '.join(sorted(BUILTIN_IDS))}")
        return Builtin(rule["builtin"])
    if "allowed_providers" in rule:
        _only(rule, {"allowed_providers"})
        providers = _text_list(rule, "allowed_providers", frozenset(Provider))
        return lambda facts: [s.resource_identifier for s in _desired(facts.steps) if s.provider not in providers]
    if "allowed_regions" in rule:
        _only(rule, {"allowed_regions"})
        regions = _text_list(rule, "allowed_regions", frozenset().union(*REGIONS.values()))
        return lambda facts: [s.resource_identifier for s in _desired(facts.steps) if s.region not in regions]
    if "allowed_resource_types" in rule:
        _only(rule, {"allowed_resource_types"})
        types = _text_list(rule, "allowed_resource_types", frozenset(ResourceType))
        return lambda facts: [s.resource_identifier for s in _desired(facts.steps) if s.resource_type not in types]
    if "property" in rule:
        return _property_rule(rule)
    if "tag_required" in rule:
        _only(rule, {"tag_required", "values"})
        key = rule["tag_required"]
        if not isinstance(key, str) or not key or len(key) > 128:
            raise _fail("tag_required", msg="must be a tag key (1-128 characters)")
        values = _text_list(rule, "values") if "values" in rule else None
        return lambda facts: [s.resource_identifier for s in _desired(facts.steps)
                              if not (tag := s.resource["tags"].get(key)) or (values is not None
                                                                               and tag not in values)]
    if "max_monthly_cost" in rule:
        _only(rule, {"max_monthly_cost"})
        ceiling = _number(rule, "max_monthly_cost", integer=False)
        return lambda facts: [""] if facts.monthly_cost > ceiling else []
    if "max_blast_radius" in rule:
        _only(rule, {"max_blast_radius"})
        most = _number(rule, "max_blast_radius", integer=True)
        return lambda facts: [identifier for identifier, count in facts.blast_radius.items() if count > most]
    if "max_steps" in rule:
        _only(rule, {"max_steps"})
        most = _number(rule, "max_steps", integer=True)
        return lambda facts: [""] if sum(s.action != StepAction.NO_OP for s in facts.steps) > most else []
    raise ValidationFailed([FieldError(("rule",), "names no known rule: one of builtin, allowed_providers, "
                                                  "allowed_regions, "
                                                  "allowed_resource_types, property, tag_required, max_monthly_cost, "
                                                  "max_blast_radius, max_steps")])


def _property_rule(rule: dict[str, Any]) -> Check:
    """`properties.<path>` must equal a value, be in a list or not be in it. Absent fails `equals` and `in` (the
    rule asks for the value) and passes `not_in`."""
    _only(rule, {"property", "equals", "in", "not_in", "resource_types"})
    path = rule["property"]
    if not isinstance(path, str) or not path or len(path) > 200 or "" in path.split("."):
        raise _fail("property", msg="must be a dotted path such as 'network.cidr'")
    parts = tuple(path.split("."))
    tests = [key for key in ("equals", "in", "not_in") if key in rule]
    if len(tests) != 1:
        raise _fail("property", msg="needs exactly one of equals, in, not_in")
    [test] = tests
    types = _text_list(rule, "resource_types", frozenset(ResourceType)) if "resource_types" in rule else None
    if test == "equals":
        expected = rule["equals"]

        def fails(value: Any) -> bool:
            return value is _ABSENT or value != expected or type(value) is not type(expected)
    else:
        values = rule[test]
        if not isinstance(values, list) or not values or len(values) > MAX_LIST:
            raise _fail(test, msg=f"must be a non-empty list of at most {MAX_LIST} values")
        if test == "in":
            def fails(value: Any) -> bool:
                return value is _ABSENT or value not in values
        else:
            def fails(value: Any) -> bool:
                return value is not _ABSENT and value in values

    def check(facts: PlanFacts) -> list[str]:
        return [s.resource_identifier for s in _desired(facts.steps)
                if (types is None or s.resource_type in types) and fails(_lookup(s.resource["properties"], parts))]
    return check


def validate_policy(policy: PolicyIn) -> None:
    compile_rule(policy.rule)


def compile_policies(policies: Sequence[TenantPolicy]) -> list[CompiledPolicy]:
    """Stored policies were validated on write; a stored rule that no longer compiles is skipped by the caller."""
    return [CompiledPolicy(p.id, p.name, p.enforcement, frozenset(p.environments), compile_rule(p.rule))
            for p in policies]


# How an enforcement level re-grades a built-in rule's own outcomes: mandatory keeps them.
_GRADE: dict[str, dict[str, str]] = {"mandatory": {}, "soft_mandatory": {"block": "soft_block"},
                                     "advisory": {"block": "warn", "soft_block": "warn"}}
_RESULT_OF_SEVERITY = {"block": "blocked", "soft_block": "soft_blocked", "warn": "advisory"}


def evaluate_policies(policies: Sequence[CompiledPolicy], environment: Environment,
                      facts: PlanFacts) -> list[dict[str, Any]]:
    """One result per declarative policy that applies here: passed, or its enforcement's outcome with the resources
    hit. (Built-in rules need the whole plan context: `evaluate_policy_set`.)"""
    results = []
    for policy in policies:
        if not policy.applies_to(environment) or isinstance(policy.check, Builtin):
            continue
        hits = policy.check(facts)
        results.append({"policy": policy.name, "policy_id": policy.id, "enforcement": policy.enforcement,
                        "result": RESULT_OF[policy.enforcement] if hits else "passed",
                        "resources": [h for h in hits if h]})
    return results


def evaluate_policy_set(policies: Sequence[CompiledPolicy] | None, context: PolicyContext,
                        blast_radius: dict[str, int]) -> tuple[PolicyResult, list[dict[str, Any]]]:
    """The plan's findings and one result per policy that applies. `None` (no tenant set loaded: tests, benches)
    runs every built-in rule with its own outcomes; a set runs the always-on rules, the built-ins it names (re-graded
    by their policy's enforcement) and its declarative rules."""
    if policies is None:
        return evaluate(context), []
    applicable = [p for p in policies if p.applies_to(context.environment)]
    builtin = {}
    for p in applicable:
        if isinstance(p.check, Builtin):
            builtin.setdefault(p.check.rule_id, p)
    base = evaluate(context, [rule for rule in RULES if rule.id in ALWAYS or rule.id in builtin])
    found: dict[str, list[PolicyFinding]] = {"block": [], "soft_block": [], "warn": []}
    hits: dict[str, list[tuple[str, str | None]]] = {}
    for finding in [*base.report.violations, *base.report.warnings]:
        owner = builtin.get(finding.rule_id)
        if owner is not None:
            severity = _GRADE[owner.enforcement].get(finding.severity, finding.severity)
            hits.setdefault(finding.rule_id, []).append((severity, finding.resource_identifier))
            if severity != finding.severity:
                finding = finding.model_copy(update={"severity": severity})
        found[finding.severity].append(finding)
    facts = PlanFacts(context.steps, context.monthly_cost, blast_radius)
    declarative = iter(evaluate_policies(applicable, context.environment, facts))
    results = []
    for policy in applicable:
        if not isinstance(policy.check, Builtin):
            result = next(declarative)
            severity = _SEVERITY.get(result["result"])
            if severity is not None:
                for identifier in result["resources"] or [None]:
                    what = f"{identifier} does not satisfy" if identifier else "the plan does not satisfy"
                    found[severity].append(PolicyFinding(
                        rule_id=policy.name, resource_identifier=identifier, severity=severity,
                        message=f"{what} policy '{policy.name}' ({policy.enforcement})"))
        elif builtin[policy.check.rule_id] is policy:
            graded = hits.get(policy.check.rule_id, [])
            severities = {severity for severity, _ in graded}
            outcome = next((_RESULT_OF_SEVERITY[s] for s in ("block", "soft_block", "warn") if s in severities),
                           "passed")
            result = {"policy": policy.name, "policy_id": policy.id, "enforcement": policy.enforcement,
                      "result": outcome, "resources": [r for _, r in graded if r]}
        else:
            continue
        results.append(result)
    report = trusted(PolicyReport, {"violations": found["block"], "warnings": found["warn"],
                                    "overridable": found["soft_block"]})
    return PolicyResult(report, base.auto_approve_overridden), results


_SEVERITY = {"advisory": "warn", "soft_blocked": "soft_block", "blocked": "block"}
