"""The API's response contract as pydantic models: routes declare them, Powertools validates every response against
them and publishes them in /openapi.json. `views.py` builds the values from domain objects."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from ..domain.lifecycle import DeploymentStatus
from ..domain.steps import StepStatus
from ..domain.users import Role
from ..planning.plan import Plan, PlanStep

# Each documented error status, with when it happens (the same words serve every route).
ERROR_STATUSES: dict[int, str] = {
    304: "Not modified: the resource still has the ETag sent in If-None-Match",
    400: "The body is not UTF-8 JSON, or nests deeper than 32 levels",
    401: "Missing, invalid, expired or revoked bearer token",
    403: "The caller's role lacks the permission",
    404: "No such record in the caller's tenant",
    409: "The action does not apply to the record's current state, or a concurrent change won",
    412: "If-Match names another version than the current one",
    415: "The body is not application/json",
    422: "Invalid fields, query parameters or headers; every one is listed in details",
    429: "Too many requests or failed logins; see Retry-After",
    503: "A dependency (PostgreSQL, Redis, Step Functions) is unavailable; see Retry-After",
}


class ErrorBody(BaseModel):
    """Every error the API answers: a human message, a stable code, and details where there are some."""

    message: str
    code: str
    details: Any = None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldErrorOut(_Out):
    loc: list[str | int]
    location: str
    msg: str
    type: str


class AccessToken(_Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class TokenCreated(_Out):
    id: str
    name: str
    role: Role
    created_at: str
    expires_at: str
    token: str = Field(description="The secret: shown in this answer only, never again")


class TokenOut(_Out):
    id: str
    name: str
    role: Role
    created_at: str
    expires_at: str
    revoked_at: str | None = Field(description="When it was revoked; null while it is not")


class TokenList(_Out):
    items: list[TokenOut]


class DestinationOut(_Out):
    id: str
    name: str
    url: str
    events: list[str]
    format: Literal["generic", "slack"]
    created_by: str
    created_at: str


class DestinationCreated(DestinationOut):
    secret: str = Field(description="HMAC-SHA256 key of X-Orchestrator-Signature: shown in this answer only")


class DestinationList(_Out):
    items: list[DestinationOut]


class DeliveryOut(_Out):
    id: str
    event: str
    deployment_id: str | None
    outcome: Literal["delivered", "failed", "refused"]
    attempts: int
    status_code: int | None = Field(description="The receiver's last HTTP status; null when nothing answered")
    error: str | None
    at: str


class DeliveryList(_Out):
    items: list[DeliveryOut]


class UserOut(_Out):
    id: str
    username: str
    email: str
    role: Role
    tenant_id: str
    is_active: bool


class StepOut(_Out):
    step_id: str
    name: str
    action: str
    wave: int = Field(description="0-based: the first wave is 0")
    phase: str | None = Field(description="The strategy phase the step runs in (\"batch 2/5\", \"canary\", ...)")
    provider: str
    region: str
    resource_type: str
    resource_identifier: str
    dependencies: list[str] = Field(description="Ids of the steps this one waits for")
    estimated_duration_seconds: int | None
    monthly_cost: float | None
    changed_paths: list[str]
    owner_stack: str | None = Field(description="The stack that owned the live resource when the plan was made")
    status: StepStatus
    attempt_number: int
    provider_resource_id: str | None
    error_message: str | None
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    rolled_back: bool


class StepPage(_Out):
    items: list[StepOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PolicyResultOut(_Out):
    policy: str
    policy_id: str
    enforcement: str
    result: Literal["passed", "advisory", "soft_blocked", "blocked"]
    resources: list[str] = Field(description="The first 10 resources it concerns")
    resource_count: int = Field(description="How many resources it concerns")


class BlastCountsOut(_Out):
    total: int
    by_provider: dict[str, int]
    by_environment: dict[str, int]


class BlastRadiusOut(_Out):
    resource: str
    action: str
    dependents: list[str] = Field(description="Up to 10 dependents, nearest first; counts cover them all")
    counts: BlastCountsOut


class PolicyFindingOut(_Out):
    rule_id: str
    message: str
    resource_identifier: str | None
    severity: str


class PolicyReportOut(_Out):
    violations: list[PolicyFindingOut]
    warnings: list[PolicyFindingOut]
    overridable: list[PolicyFindingOut] = Field(description="Findings an admin may override")


LISTS = "critical_path, policy_results, blast_radius, violations, warnings, overridable, phases"


class PhaseOut(_Out):
    name: str = Field(description="\"batch 2/5\", \"canary\", \"bake\", \"green\", \"switch\", \"rest\", ...")
    kind: Literal["batch", "canary", "bake", "green", "switch", "rest", "retire", "destroy", "create"]
    steps: int = Field(description="How many steps run in it")
    bake_seconds: int | None = Field(description="Bake phases: how long the health is watched")


class PlanOut(_Out):
    """The plan's headline figures, bounded whatever its size: each list shows at most 20 entries."""

    plan_id: str
    step_count: int
    wave_count: int
    critical_path: list[str] = Field(description="The slowest step of each wave (the first 20)")
    critical_path_seconds: int
    cost_breakdown: dict[str, float]
    blocked: bool
    estimated_total_duration_seconds: int
    estimated_monthly_cost: float
    risk_assessment: str
    risk_reasons: list[str]
    policy: PolicyReportOut
    requires_approval: bool
    auto_approve_overridden: bool
    reasoning: str
    policy_results: list[PolicyResultOut] = Field(description="Every tenant policy that applies, with its result")
    blast_radius: list[BlastRadiusOut] = Field(description="What depends on each updated or destroyed resource")
    soft_blocked: bool = Field(description="Waits for an admin override (POST /deployments/{id}/override)")
    strategy: str
    strategy_options: dict[str, Any] = Field(description="The strategy's options as the plan resolved them")
    phases: list[PhaseOut] = Field(description="The strategy's phases in the order they run; more than 20 (a "
                                               "rolling plan's batches) are shown as one entry")
    expected_downtime_seconds: int | None = Field(description="recreate: how long a recreated resource is absent")
    totals: dict[str, int] = Field(description=f"The full length of each list ({LISTS})")
    truncated: bool = Field(description="Some list holds fewer entries than its total")


class SpeculativeStepOut(PlanStep):
    """A plan step as a speculative plan answers it: without `resource`, the spec the caller sent (or, for a
    destroy, the inventory record's), whose properties may hold secrets and would double the answer's size."""

    resource: SkipJsonSchema[dict[str, Any] | None] = Field(default=None, exclude=True)


class SpeculativePlanBody(Plan):
    """The plan a deployment of the intent would get now, in the shape of a deployment's stored plan (steps
    without `resource`). Fields added to plans appear here as they do there."""

    deployment_id: str = Field(description="A fresh id per request: it names no deployment (nothing was created)")
    steps: list[SpeculativeStepOut]


class PlanSummaryOut(_Out):
    by_action: dict[str, int] = Field(description="Steps by action (create, update, no-op, destroy, ...)")
    has_changes: bool = Field(description="Some step is not a no-op")
    blocked: bool
    estimated_monthly_cost: float
    risk: str


class SpeculativePlanOut(_Out):
    plan: SpeculativePlanBody
    summary: PlanSummaryOut = Field(description="What the audit record keeps of this plan")


class StepCountsOut(_Out):
    total: int
    by_status: dict[str, int]
    by_action: dict[str, int]
    applied: int = Field(description="Steps (no-ops aside) whose change was made: succeeded, or undone since")
    rolled_back: int = Field(description="Steps whose change a rollback undid")
    wave_count: int
    current_wave: int | None = Field(description="While executing: the first wave (0-based) with work not done")


class DeploymentLinks(_Out):
    self: str
    steps: str = Field(description="GET: the steps, a page at a time")
    events: str = Field(description="GET: the audit trail, a page at a time")
    terraform: str


class ApprovalOut(_Out):
    required: bool
    requested_at: str | None
    decided_by: str | None
    decided_at: str | None
    comment: str | None
    overridden_by: str | None
    override_reason: str | None
    decision: Literal["approved", "rejected"] | None


class DeploymentSummaryOut(_Out):
    id: str
    name: str
    description: str
    status: DeploymentStatus
    environment: str
    strategy: str
    providers: list[str]
    tenant_id: str
    initiated_by: str
    created_at: str | None
    updated_at: str | None
    execution_arn: str | None
    error_message: str | None
    resource_count: int
    phase: str | None = Field(description="Where the run is (\"batch 2/5\", \"canary\", \"bake\", \"switch\", "
                                          "\"rest\", ...); null when no workflow runs")
    phase_ends_at: str | None = Field(description="While baking: when the bake ends")


class DeploymentOut(DeploymentSummaryOut):
    """Bounded whatever the deployment's size: its steps and events are collections (see `links`)."""

    progress_percentage: float
    plan: PlanOut | None
    steps: StepCountsOut
    approval: ApprovalOut
    links: DeploymentLinks


class DeploymentPage(_Out):
    items: list[DeploymentSummaryOut]
    total: int
    limit: int
    offset: int


class EventOut(_Out):
    at: str | None
    type: str
    actor: str
    from_status: DeploymentStatus | None
    to_status: DeploymentStatus | None
    detail: dict[str, Any]
    correlation_id: str


class EventList(_Out):
    items: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class ResourceOut(_Out):
    id: str
    resource_identifier: str
    provider: str
    region: str
    resource_type: str
    name: str
    provider_resource_id: str | None
    properties: dict[str, Any]
    tags: dict[str, str]
    deployment_id: str | None = Field(description="The deployment that last wrote it")
    stack: str | None = Field(description="The stack (deployment name) that owns it; null when made by hand")
    version: int = Field(description="Bumped by every write")
    dependencies: list[str] = Field(description="What it depends on, possibly other stacks' resources")
    health: Literal["healthy", "unhealthy"] = Field(description="The serving instance's health")
    unhealthy_at: str | None = Field(description="When it last turned unhealthy (kept when it recovers)")
    updated_at: str | None


class StandbyOut(_Out):
    provider_resource_id: str
    role: Literal["green", "blue"] = Field(description="green: staged, not serving yet; blue: served before a switch")
    health: Literal["healthy", "unhealthy"]


class ResourceDetailOut(ResourceOut):
    standby: StandbyOut | None = Field(description="The standby instance (blue/green); null when there is none")


class ResourceList(_Out):
    items: list[ResourceOut]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class DriftItemOut(_Out):
    drift_type: str
    resource_identifier: str
    property_path: str | None
    expected_value: Any
    actual_value: Any
    severity: str


class DriftReportOut(_Out):
    id: str
    tenant_id: str
    deployment_id: str
    scan_type: str
    items: list[DriftItemOut]
    created_at: str
    remediation_deployment_id: str | None
    has_drift: bool
    critical_count: int
    high_count: int
    medium_count: int
    low_count: int
    max_severity: str | None
    summary: str


class DriftReportList(_Out):
    items: list[DriftReportOut]


class PolicyOut(_Out):
    id: str
    name: str
    description: str
    environments: list[str]
    enforcement: Literal["advisory", "soft_mandatory", "mandatory"]
    rule: dict[str, Any]


class PolicyList(_Out):
    items: list[PolicyOut]


class FreezeWindowOut(_Out):
    id: str
    name: str
    environments: list[str]
    reason: str
    mode: Literal["block", "queue"]
    starts_at: str | None
    ends_at: str | None
    cron: str | None
    duration_minutes: int | None
    timezone: str | None


class FreezeWindowList(_Out):
    items: list[FreezeWindowOut]


class Liveness(_Out):
    status: str


class Readiness(_Out):
    status: str
    checks: dict[str, dict[str, Any]]


def responses(success: int, description: str, *errors: int, headers: dict[str, Any] | None = None,
              empty: bool = False, links: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """The `responses=` of a route: its success (schema from the return annotation) and each error it can answer,
    with the error model. 422 is always there (an unknown query parameter); 401 and 429 apply to every route behind
    the authorizer, so callers list them too."""
    documented: dict[int, dict[str, Any]] = {success: {"description": description}}
    errors = tuple(sorted({*errors, 422}))
    if headers:
        documented[success]["headers"] = headers
    if empty:
        documented[success]["content"] = {}
    if links:
        documented[success]["links"] = links
    for status in errors:
        if status == 304:
            documented[304] = {"description": ERROR_STATUSES[304], "content": {}}
            continue
        documented[status] = {"description": ERROR_STATUSES[status],
                              "content": {"application/json": {"model": ErrorBody}}}
        if status in (429, 503):
            documented[status]["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying",
                                                             "schema": {"type": "integer"}}}
    return documented
