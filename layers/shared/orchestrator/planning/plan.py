"""The plan: what a deployment will do, in which order, how long it should take, what it costs and whether it may run.

A plan is a record: every model here is frozen and serialises with `model_dump(mode="json")`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..domain.errors import NotFound
from ..domain.severity import Severity

# "soft_block": blocks until an admin overrides it with a reason (soft-mandatory policies, freezes, dependents).
Outcome = Literal["block", "soft_block", "warn"]


class StepAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NO_OP = "no-op"
    DESTROY = "destroy"


RiskLevel = Severity

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PolicyFinding(BaseModel):
    model_config = _FROZEN

    rule_id: str
    message: str
    resource_identifier: str | None = None
    severity: Outcome


class PolicyReport(BaseModel):
    model_config = _FROZEN

    violations: list[PolicyFinding] = Field(default_factory=list)
    warnings: list[PolicyFinding] = Field(default_factory=list)
    # Findings an admin may override (POST /deployments/{id}/override); until then the plan waits for approval.
    overridable: list[PolicyFinding] = Field(default_factory=list)


class PathChange(BaseModel):
    """One changed path of an update: the live value and the intent's (None when absent on that side; values of
    secret-looking keys are "(sensitive)")."""

    model_config = _FROZEN

    path: str
    old: Any = None
    new: Any = None


class PlanStep(BaseModel):
    model_config = _FROZEN

    # Short ("s1", "s2", ...): the workflow payload carries step ids for up to 5,000 steps within 256 KB.
    step_id: str
    name: str
    action: StepAction
    provider: str
    region: str
    resource_type: str
    resource_identifier: str
    dependencies: list[str] = Field(default_factory=list)
    wave: int = Field(ge=0)
    estimated_duration_seconds: int = Field(ge=0)
    monthly_cost: float = Field(ge=0)
    # Dotted paths that differ from the live resource (update steps only), e.g. "properties.network.cidr".
    changed_paths: list[str] = Field(default_factory=list)
    # Update steps: the old and new value at each changed path (empty for other actions).
    changes: list[PathChange] = Field(default_factory=list)
    # Makes a repeated apply or destroy of this step return the first result.
    idempotency_key: str
    # The desired ResourceSpec as JSON data; for a destroy, the spec of the inventory record being removed.
    resource: dict[str, Any]
    # The stack that owns the live resource when the plan was made (None: absent, or created by hand).
    owner_stack: str | None = None


class Plan(BaseModel):
    model_config = _FROZEN

    plan_id: str
    deployment_id: str
    created_at: datetime
    steps: list[PlanStep]
    # Every step id by wave, no-ops included; `workflow_waves()` is what the state machine runs.
    waves: list[list[str]]
    # Waves run one after another, each at most `max_concurrency` steps at a time.
    estimated_total_duration_seconds: int
    # The duration with unlimited concurrency: the sum of each wave's slowest step, listed in `critical_path`.
    critical_path_seconds: int
    critical_path: list[str]
    estimated_monthly_cost: float
    cost_breakdown: dict[str, float]
    risk_assessment: RiskLevel
    risk_reasons: list[str]
    policy: PolicyReport
    blocked: bool
    # Every tenant policy that applies: {policy, policy_id, enforcement, result, resources}.
    policy_results: list[dict[str, Any]] = Field(default_factory=list)
    # Per updated or destroyed resource: {resource, action, dependents, counts}.
    blast_radius: list[dict[str, Any]] = Field(default_factory=list)
    # Blocked until an admin overrides `policy.overridable`.
    soft_blocked: bool = False
    requires_approval: bool
    auto_approve_overridden: bool
    reasoning: str

    def blocked_by(self, violations: list[PolicyFinding], reason: str) -> Plan:
        """This plan with findings only the workflow knows (another deployment holds a resource): blocked."""
        report = self.policy.model_copy(update={"violations": [*self.policy.violations, *violations]})
        return self.model_copy(update={"policy": report, "blocked": True,
                                       "reasoning": f"{self.reasoning} {reason}"})

    def workflow_waves(self) -> list[list[str]]:
        """The compact list the state machine carries: step ids per wave, without no-ops and empty waves."""
        idle = {s.step_id for s in self.steps if s.action == StepAction.NO_OP}
        compact = ([sid for sid in wave if sid not in idle] for wave in self.waves)
        return [wave for wave in compact if wave]

    def step(self, step_id: str) -> PlanStep:
        # Planner ids are "s<n>" in step order, so the position is usually known; scan as a fallback.
        if step_id[:1] == "s" and step_id[1:].isdigit():
            position = int(step_id[1:]) - 1
            if 0 <= position < len(self.steps) and self.steps[position].step_id == step_id:
                return self.steps[position]
        for candidate in self.steps:
            if candidate.step_id == step_id:
                return candidate
        raise NotFound(f"plan {self.plan_id} has no step '{step_id}'")


M = TypeVar("M", bound=BaseModel)
_new = object.__new__
_set = object.__setattr__
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """Build a frozen model from values the planner derived from an already validated intent, without validating.

    `values` must hold every field, already of the right type. This is `model_construct` minus its per-field default
    handling: about 6x cheaper than it and 3x cheaper than `model_validate`, which matters at 5,000 steps against a
    60 ms planning budget. The fields-set is shared per class: pydantic copies it before any change, and frozen
    models never change.
    The unit tests check that what it builds equals what `model_validate` builds.
    """
    instance = _new(cls)
    _set(instance, "__dict__", values)
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    _set(instance, "__pydantic_fields_set__", fields)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
