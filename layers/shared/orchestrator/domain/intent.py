"""The deployment intent: what a platform team asks for, and every rule it must satisfy before anything is planned.

Structure (types, enums, lengths, patterns) is checked by pydantic; the rules that span fields or resources
(regions, providers, identifiers, dependencies, cycles, sizes) by `validate_intent`, which reports every problem
of both kinds at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_json

from .catalogue import REGIONS, Environment, Provider, ResourceType, Strategy, resource_identifier
from .errors import FieldError, ValidationFailed
from .graph import CycleDetected, topological_waves

MAX_RESOURCES = 10_000
MAX_DEPENDENCIES = 100
MAX_TAGS = 50
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_PARAMETERS_BYTES = 64 * 1024
MAX_CONCURRENCY_CAP = 40

# The strictest common rule of the three clouds (GCP's RFC 1035 label): safe to derive provider names from.
ResourceName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z]([a-z0-9-]*[a-z0-9])?$")]
DeploymentName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
]
Region = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$")]
Identifier = Annotated[str, StringConstraints(max_length=200, pattern=r"^[a-z]+/[a-z0-9-]+/[a-z_]+/[a-z0-9-]+$")]
# AWS's tag alphabet, the narrowest of the three; keys may not start with a space.
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:/=+@-][\w .:/=+@-]*$")]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=r"^[\w .:/=+@-]*$")]
RESERVED_TAG_PREFIXES = ("aws:", "azure:", "goog-")
_RESERVED_FIRST = frozenset("aAgG")


class ResourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_type: ResourceType
    provider: Provider
    region: Region
    name: ResourceName
    properties: dict[str, Any] = Field(default_factory=dict)
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)
    dependencies: list[Identifier] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    # Cross-stack references: resources outside this intent, in the tenant's inventory, that this one depends on
    # (as a CloudFormation import of another stack's export). The plan checks that they exist.
    references: list[Identifier] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    # Take the resource over from the stack that owns it (that stack then no longer updates, scans or destroys it).
    adopt: bool = False

    @property
    def identifier(self) -> str:
        return resource_identifier(self.provider.value, self.region, self.resource_type.value, self.name)


class StrategyOptions(BaseModel):
    """How the strategy runs; each option applies to the strategies named (and is ignored by the others)."""

    model_config = ConfigDict(extra="forbid")

    # rolling: steps per batch within a wave, health-checked after each batch (None: the intent's max_concurrency).
    batch_size: int | None = Field(default=None, ge=1, le=MAX_RESOURCES)
    # canary: the share of changed compute-like resources (compute, container, serverless) applied first.
    canary_percent: int = Field(default=10, ge=1, le=50)
    # canary and blue_green: how long the canary or the switched green instances are watched before the rest runs.
    bake_seconds: int = Field(default=300, ge=0, le=24 * 3600)


class DeploymentIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DeploymentName
    description: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    target_providers: list[Provider] = Field(min_length=1, max_length=len(Provider))
    target_regions: list[Region] = Field(default_factory=list, max_length=100)
    resources: list[ResourceSpec] = Field(min_length=1, max_length=MAX_RESOURCES)
    strategy: Strategy = Strategy.ROLLING
    strategy_options: StrategyOptions = Field(default_factory=StrategyOptions)
    auto_approve: bool = False
    rollback_on_failure: bool = True
    environment: Environment = Environment.DEVELOPMENT
    parameters: dict[str, Any] = Field(default_factory=dict)
    # How many steps of one wave may run at once, and how long an approval may wait (None: the stack default).
    max_concurrency: int = Field(default=10, ge=1, le=MAX_CONCURRENCY_CAP)
    approval_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)

    @property
    def providers(self) -> list[str]:
        return [p.value for p in self.target_providers]


_resource_adapter = TypeAdapter(ResourceSpec)


def validate_intent(payload: Mapping[str, Any] | DeploymentIntent) -> DeploymentIntent:
    """Parse and check an intent; raise `ValidationFailed` carrying every error found, each with its location."""
    if isinstance(payload, DeploymentIntent):
        intent, errors = payload, []
    else:
        try:
            intent, errors = DeploymentIntent.model_validate(payload), []
        except PydanticValidationError as exc:
            intent, errors = None, [field_error_from_pydantic(err) for err in exc.errors()]
    if intent is not None:
        errors.extend(_semantic_errors(intent.target_providers, intent.target_regions,
                                       list(enumerate(intent.resources)), intent.parameters))
    elif isinstance(payload, Mapping):
        errors.extend(_semantic_errors_of_partial(payload))
    if errors:
        raise ValidationFailed(errors)
    return intent


# Pattern failures read better as the rule than as the regular expression.
_PATTERN_RULES = {
    "name": "must be 1-63 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen",
    "region": "must be a region code such as us-east-1, westeurope or europe-west1",
    "dependencies": "must be a resource identifier 'provider/region/type/name'",
    "references": "must be a resource identifier 'provider/region/type/name'",
    "tags": "tag keys and values may hold letters, digits, spaces and _ . : / = + @ -",
}


def field_error_from_pydantic(err: Mapping[str, Any]) -> FieldError:
    loc = tuple(err["loc"])
    msg = err["msg"]
    if err["type"] == "string_pattern_mismatch":
        field = next((part for part in reversed(loc) if isinstance(part, str) and part in _PATTERN_RULES), None)
        if loc == ("name",):
            msg = "must start with a letter or digit and hold only letters, digits, spaces and . _ -"
        elif field:
            msg = _PATTERN_RULES[field]
    return FieldError(loc=loc, msg=msg, type=err["type"])


def _semantic_errors_of_partial(payload: Mapping[str, Any]) -> list[FieldError]:
    """Run the cross-field rules on whatever parts of an invalid intent did parse, so one reply lists everything."""
    providers = _valid_list(payload.get("target_providers"), Provider)
    raw_regions = payload.get("target_regions")
    regions = [r for r in raw_regions if isinstance(r, str)] if isinstance(raw_regions, list) else []
    raw_resources = payload.get("resources")
    resources: list[tuple[int, ResourceSpec]] = []
    if isinstance(raw_resources, list):
        for i, raw in enumerate(raw_resources[:MAX_RESOURCES]):
            try:
                resources.append((i, _resource_adapter.validate_python(raw)))
            except PydanticValidationError:
                continue  # already reported by the structural pass
    parameters = payload.get("parameters") if isinstance(payload.get("parameters"), dict) else {}
    # A dependency may name a resource that failed to parse: only then is "names no resource" unknowable.
    some_resource_failed = isinstance(raw_resources, list) and len(resources) < len(raw_resources)
    return _semantic_errors(providers, regions, resources, parameters, structural_pass_failed=some_resource_failed)


def _valid_list(raw: Any, enum: type) -> list:
    if not isinstance(raw, list):
        return []
    values = {member.value for member in enum}
    # Only strings can name a member ([{}] or [[]] are reported by the structural pass; they are not hashable).
    return [enum(value) for value in raw if isinstance(value, str) and value in values]


def _semantic_errors(
    target_providers: list[Provider],
    target_regions: list[str],
    resources: list[tuple[int, ResourceSpec]],
    parameters: Mapping[str, Any],
    structural_pass_failed: bool = False,
) -> list[FieldError]:
    errors: list[FieldError] = []
    providers = set(target_providers)

    if len(providers) != len(target_providers):
        errors.append(FieldError(("target_providers",), "providers must not repeat", "duplicate"))
    for j, region in enumerate(target_regions):
        if providers and not any(region in REGIONS[p] for p in providers):
            names = ", ".join(sorted(p.value for p in providers))
            errors.append(FieldError(("target_regions", j), f"region '{region}' exists for none of: {names}",
                                     "unknown_region"))
    allowed_regions = set(target_regions)

    # One pass per resource; locations and messages are only built for errors (5,000 resources in a few ms).
    index_of: dict[str, int] = {}
    identifiers: list[str] = []
    for i, res in resources:
        provider, region = res.provider, res.region
        if region not in REGIONS[provider]:
            errors.append(FieldError(("resources", i, "region"), f"region '{region}' does not exist for provider "
                                                                  f"'{provider.value}'", "unknown_region"))
        elif allowed_regions and region != "global" and region not in allowed_regions:
            errors.append(FieldError(("resources", i, "region"), f"region '{region}' is not among target_regions",
                                     "region_not_targeted"))
        if providers and provider not in providers:
            errors.append(FieldError(("resources", i, "provider"), f"provider '{provider.value}' is not among "
                                                                    "target_providers", "provider_not_targeted"))
        ident = f"{provider.value}/{region}/{res.resource_type.value}/{res.name}"
        identifiers.append(ident)
        first = index_of.setdefault(ident, i)
        if first != i:
            errors.append(FieldError(("resources", i, "name"), f"duplicate resource identifier '{ident}' (first "
                                                                f"at resources.{first})", "duplicate"))
        properties = res.properties
        if properties:
            if len(to_json(properties, fallback=str)) > MAX_PROPERTIES_BYTES:
                errors.append(FieldError(("resources", i, "properties"), f"properties exceed "
                                         f"{MAX_PROPERTIES_BYTES} bytes as JSON", "too_large"))
            if "simulate" in properties:
                errors.extend(_simulate_errors(("resources", i), properties["simulate"]))
        for key in res.tags:
            if key[:1] in _RESERVED_FIRST and key.lower().startswith(RESERVED_TAG_PREFIXES):
                errors.append(FieldError(("resources", i, "tags", key), "tag keys starting with aws:, azure: or "
                                                                         "goog- are reserved by the providers",
                                         "reserved_tag"))

    dependencies: dict[str, list[str]] = {}
    for (i, res), ident in zip(resources, identifiers, strict=True):
        if index_of[ident] != i or not res.dependencies:
            continue
        seen: set[str] = set()
        for j, dep in enumerate(res.dependencies):
            if dep == ident:
                errors.append(FieldError(("resources", i, "dependencies", j), "a resource cannot depend on itself",
                                         "self_dependency"))
            elif dep in seen:
                errors.append(FieldError(("resources", i, "dependencies", j), f"dependency '{dep}' is listed twice",
                                         "duplicate"))
            elif dep not in index_of and not structural_pass_failed:
                # With a partial parse, the dependency may name a resource that failed structurally: say nothing.
                errors.append(FieldError(("resources", i, "dependencies", j), f"dependency '{dep}' names no "
                                         "resource of this intent", "unknown_dependency"))
            seen.add(dep)
        dependencies[ident] = res.dependencies if ident not in seen else [d for d in res.dependencies if d != ident]
    for i, res in resources:
        for j, ref in enumerate(res.references):
            if ref in index_of:
                errors.append(FieldError(("resources", i, "references", j), f"'{ref}' is a resource of this intent: "
                                         "list it in dependencies", "internal_reference"))

    try:
        topological_waves(list(index_of), dependencies)
    except CycleDetected as cycle:
        first = index_of[cycle.path[0]]
        errors.append(FieldError(("resources", first, "dependencies"), str(cycle), "dependency_cycle"))

    if parameters and len(to_json(parameters, fallback=str)) > MAX_PARAMETERS_BYTES:
        errors.append(FieldError(("parameters",), f"parameters exceed {MAX_PARAMETERS_BYTES} bytes as JSON",
                                 "too_large"))
    return errors


def _simulate_errors(loc: tuple, simulate: Any) -> list[FieldError]:
    """Fault injection for the simulated provider: {"fail_apply": N|"always", "fail_verify": bool, "latency_ms": n,
    "unhealthy": bool}."""
    if simulate is None:
        return []
    where = (*loc, "properties", "simulate")
    if not isinstance(simulate, dict):
        return [FieldError(where, "must be an object", "type_error")]
    errors = []
    unknown = set(simulate) - {"fail_apply", "fail_verify", "latency_ms", "unhealthy"}
    if unknown:
        errors.append(FieldError(where, f"unknown keys: {', '.join(sorted(unknown))}", "extra_forbidden"))
    fail_apply = simulate.get("fail_apply", 0)
    if not (fail_apply == "always" or (type(fail_apply) is int and 0 <= fail_apply <= 100)):
        errors.append(FieldError((*where, "fail_apply"), "must be an integer 0..100 or \"always\"", "value_error"))
    if not isinstance(simulate.get("fail_verify", False), bool):
        errors.append(FieldError((*where, "fail_verify"), "must be true or false", "bool_type"))
    if not isinstance(simulate.get("unhealthy", False), bool):
        errors.append(FieldError((*where, "unhealthy"), "must be true or false", "bool_type"))
    latency = simulate.get("latency_ms", 0)
    if not (type(latency) is int and 0 <= latency <= 60_000):
        errors.append(FieldError((*where, "latency_ms"), "must be an integer 0..60000", "value_error"))
    return errors
