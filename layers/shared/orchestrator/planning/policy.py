"""Policy: a declarative list of rules every plan is checked against. A `block` finding stops the plan.

Each rule says where it applies (environments, resource types, actions), what it looks for and what a finding does
(`outcome`, which may differ by environment through `outcome_in`). Per-resource rules are a `StepCheck`: a declarative
predicate (`PropertyIs`, `PropertyIn`, `TagMissing`, ...) and a message template; plan-wide rules are a function of the
`PolicyContext`. Adding a rule means adding an entry to `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain.catalogue import Environment, ResourceType
from .estimates import SIZES
from .plan import Outcome, PlanStep, PolicyFinding, PolicyReport, StepAction, trusted

# Steps whose resource stays (or comes) into being: what the intent asks for, as opposed to what it removes.
DESIRED = frozenset({StepAction.CREATE, StepAction.UPDATE, StepAction.NO_OP})
PUBLIC_ACLS = frozenset({"public-read", "public-read-write"})
MONTHLY_COST_CEILING: dict[Environment, float] = {
    Environment.DEVELOPMENT: 5_000.0,
    Environment.STAGING: 25_000.0,
    Environment.PRODUCTION: 250_000.0,
}
COST_WARNING_SHARE = 0.8
_ABSENT = object()


class StepPredicate(Protocol):
    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        """The steps that match, in the order given. Whole lists at once: a plan holds up to 5,000 steps."""
        ...


@dataclass(frozen=True, slots=True)
class PropertyIs:
    """`properties[key]` is exactly `value` (True, False or None: 1 is not True, an absent key is not False)."""

    key: str
    value: bool | None

    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        key, value = self.key, self.value
        return [s for s in steps if s.resource["properties"].get(key, _ABSENT) is value]


@dataclass(frozen=True, slots=True)
class PropertyIn:
    """`properties[key]` is one of `values`."""

    key: str
    values: frozenset[str]

    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        key, values = self.key, self.values
        return [s for s in steps if _is_text_in(s.resource["properties"].get(key), values)]


@dataclass(frozen=True, slots=True)
class PropertyNotIn:
    """`properties[key]` is set, to something other than one of `values`."""

    key: str
    values: frozenset[str]

    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        key, values = self.key, self.values
        return [s for s in steps
                if (value := s.resource["properties"].get(key)) is not None and not _is_text_in(value, values)]


@dataclass(frozen=True, slots=True)
class TagMissing:
    """No tag `key` (in any letter case) with a non-blank value."""

    key: str

    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        key = self.key
        # The exact key with a value is the common case; only the rest pay for the case-insensitive scan.
        return [s for s in steps
                if not ((value := s.resource["tags"].get(key)) and not value.isspace())
                and not _has_tag_in_any_case(s.resource["tags"], key)]


@dataclass(frozen=True, slots=True)
class AnyOf:
    predicates: tuple[StepPredicate, ...]

    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        chosen = {id(step) for predicate in self.predicates for step in predicate.select(steps)}
        return [s for s in steps if id(s) in chosen]


@dataclass(frozen=True, slots=True)
class Always:
    def select(self, steps: Sequence[PlanStep]) -> list[PlanStep]:
        return list(steps)


def _has_tag_in_any_case(tags: Mapping[str, str], key: str) -> bool:
    return any(k.lower() == key and not v.isspace() and v for k, v in tags.items())


def _is_text_in(value: Any, values: frozenset[str]) -> bool:
    return isinstance(value, str) and value in values


@dataclass(frozen=True, slots=True)
class StepCheck:
    """A per-resource rule: the steps it looks at, the predicate a step fails, and the message for each failure.

    `message` is a `str.format` template over `name`, `resource_type`, `identifier` and `properties`.
    """

    when: StepPredicate
    message: str
    resource_types: frozenset[str] | None = None  # None: every type
    actions: frozenset[StepAction] = DESIRED

    def hits(self, pool: Sequence[PlanStep]) -> list[Hit]:
        return [Hit(self.message.format(name=s.name, resource_type=s.resource_type, identifier=s.resource_identifier,
                                        properties=s.resource["properties"]), s.resource_identifier)
                for s in self.when.select(pool)]


@dataclass(frozen=True, slots=True)
class PolicyContext:
    environment: Environment
    auto_approve: bool
    steps: Sequence[PlanStep]
    monthly_cost: float
    # The stack the plan runs for: resources another stack owns are not its to change unless the intent adopts them.
    stack: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    message: str
    resource_identifier: str | None = None
    # When the check itself decides (the cost ceiling warns before it blocks); otherwise the rule's outcome.
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    id: str
    description: str
    outcome: Outcome
    check: StepCheck | Callable[[PolicyContext], Iterable[Hit]]
    environments: frozenset[Environment] = frozenset(Environment)
    outcome_in: Mapping[Environment, Outcome] = field(default_factory=dict)
    # A finding of this rule withdraws the intent's auto_approve: a person must approve the plan.
    requires_approval: bool = False


@dataclass(frozen=True, slots=True)
class PolicyResult:
    report: PolicyReport
    auto_approve_overridden: bool

    @property
    def blocked(self) -> bool:
        return bool(self.report.violations)


def _auto_approve_in_production(context: PolicyContext) -> Iterable[Hit]:
    if context.auto_approve:
        yield Hit("auto_approve is ignored in production: the plan waits for a person to approve it")


def _cost_ceiling(context: PolicyContext) -> Iterable[Hit]:
    ceiling = MONTHLY_COST_CEILING[context.environment]
    cost, where = context.monthly_cost, context.environment.value
    if cost > ceiling:
        yield Hit(f"estimated monthly cost ${cost:,.2f} exceeds the {where} ceiling of ${ceiling:,.2f}", None, "block")
    elif cost > ceiling * COST_WARNING_SHARE:
        yield Hit(f"estimated monthly cost ${cost:,.2f} is above {COST_WARNING_SHARE:.0%} of the {where} ceiling "
                  f"of ${ceiling:,.2f}", None, "warn")


def _elsewhere(context: PolicyContext, *, adopted: bool) -> Iterable[PlanStep]:
    for step in context.steps:
        owner = step.owner_stack
        if owner is not None and owner != context.stack and bool(step.resource.get("adopt")) is adopted:
            yield step


def _owned_elsewhere(context: PolicyContext) -> Iterable[Hit]:
    for step in _elsewhere(context, adopted=False):
        yield Hit(f"{step.resource_identifier} is owned by stack '{step.owner_stack}'; set adopt: true on the "
                  f"resource to take it over", step.resource_identifier)


def _adopted(context: PolicyContext) -> Iterable[Hit]:
    for step in _elsewhere(context, adopted=True):
        yield Hit(f"{step.resource_identifier} is adopted from stack '{step.owner_stack}', which stops managing it",
                  step.resource_identifier)


PRODUCTION = frozenset({Environment.PRODUCTION})
RESOURCE_OWNED_ELSEWHERE = "resource_owned_elsewhere"
# Not a rule of the plan alone: the workflow adds it when another in-flight deployment holds a resource.
RESOURCE_CLAIMED = "resource_claimed"

RULES: tuple[PolicyRule, ...] = (
    PolicyRule(
        id=RESOURCE_OWNED_ELSEWHERE,
        description="A resource another stack owns is changed only by an intent that adopts it (adopt: true).",
        outcome="block",
        check=_owned_elsewhere,
    ),
    PolicyRule(
        id="resource_adopted",
        description="Adopting a resource from another stack is called out for the approver.",
        outcome="warn",
        check=_adopted,
    ),
    PolicyRule(
        id="production-manual-approval",
        description="Production plans are approved by a person, whatever the intent's auto_approve says.",
        outcome="warn",
        environments=PRODUCTION,
        check=_auto_approve_in_production,
        requires_approval=True,
    ),
    PolicyRule(
        id="production-storage-not-public",
        description="Storage is not publicly readable: blocked in production, a warning elsewhere.",
        outcome="warn",
        outcome_in={Environment.PRODUCTION: "block"},
        check=StepCheck(
            when=AnyOf((PropertyIs("public_access", True), PropertyIn("acl", PUBLIC_ACLS))),
            message="storage {name} is publicly readable (public_access or a public-read ACL)",
            resource_types=frozenset({ResourceType.STORAGE}),
        ),
    ),
    PolicyRule(
        id="database-encryption",
        description="Databases are encrypted at rest: `encrypted: false` is blocked in every environment "
                    "(left out, the provider's default encrypts).",
        outcome="block",
        check=StepCheck(
            when=PropertyIs("encrypted", False),
            message="database {name} turns encryption at rest off",
            resource_types=frozenset({ResourceType.DATABASE}),
        ),
    ),
    PolicyRule(
        id="monthly-cost-ceiling",
        description="The estimated monthly cost stays under the environment's ceiling (a warning above 80%).",
        outcome="block",
        check=_cost_ceiling,
    ),
    PolicyRule(
        id="production-destroys",
        description="Destroying production resources is called out for the approver.",
        outcome="warn",
        environments=PRODUCTION,
        check=StepCheck(
            when=Always(),
            message="{resource_type} {name} will be destroyed in production",
            actions=frozenset({StepAction.DESTROY}),
        ),
    ),
    PolicyRule(
        id="production-owner-tag",
        description="Production resources carry an `owner` tag, so someone answers for them.",
        outcome="warn",
        environments=PRODUCTION,
        check=StepCheck(when=TagMissing("owner"), message="{resource_type} {name} has no owner tag"),
    ),
    PolicyRule(
        id="resource-size-known",
        description=f"`properties.size` is one of {', '.join(SIZES)}; anything else is estimated as small.",
        outcome="warn",
        check=StepCheck(
            when=PropertyNotIn("size", frozenset(SIZES)),
            message="{resource_type} {name} has size {properties[size]!r}, not one of " + ", ".join(SIZES)
                    + ": its duration and cost are estimated as small",
        ),
    ),
)


# Rules that guard ownership and approval: always on. The others are each tenant's default policy set (a policy
# whose rule is {"builtin": <id>}), which the tenant may re-grade, scope, replace or delete.
ALWAYS = frozenset({RESOURCE_OWNED_ELSEWHERE, "resource_adopted", "production-manual-approval"})
DEFAULT_SET: tuple[PolicyRule, ...] = tuple(rule for rule in RULES if rule.id not in ALWAYS)


def evaluate(context: PolicyContext, rules: Sequence[PolicyRule] = RULES) -> PolicyResult:
    violations: list[PolicyFinding] = []
    warnings: list[PolicyFinding] = []
    overridden = False
    pools: dict[tuple[frozenset[str] | None, frozenset[StepAction]], list[PlanStep]] = {}
    for rule in rules:
        if context.environment not in rule.environments:
            continue
        default = rule.outcome_in.get(context.environment, rule.outcome)
        if isinstance(rule.check, StepCheck):
            hits = rule.check.hits(_pool(context.steps, rule.check, pools))
        else:
            hits = list(rule.check(context))
        for hit in hits:
            severity = hit.outcome or default
            # The values come from this module and validated steps; `trusted` skips a second validation.
            finding = trusted(PolicyFinding, {"rule_id": rule.id, "message": hit.message,
                                              "resource_identifier": hit.resource_identifier, "severity": severity})
            (violations if severity == "block" else warnings).append(finding)
        overridden = overridden or (rule.requires_approval and bool(hits))
    report = trusted(PolicyReport, {"violations": violations, "warnings": warnings, "overridable": []})
    return PolicyResult(report, overridden)


def _pool(steps: Sequence[PlanStep], check: StepCheck,
          pools: dict[tuple[frozenset[str] | None, frozenset[StepAction]], list[PlanStep]]) -> list[PlanStep]:
    """The steps a check looks at; rules with the same scope share one filtering pass."""
    scope = (check.resource_types, check.actions)
    pool = pools.get(scope)
    if pool is None:
        types, actions = scope
        pool = pools[scope] = [s for s in steps if s.action in actions
                               and (types is None or s.resource_type in types)]
    return pool
