"""Turn a drift report into a deployment intent that puts the drifted resources back as declared.

What a user expects from "remediate":
- a removed resource comes back, and a changed one gets its declared properties and tags again, with the expected
  state (never the original's `simulate` fault injection). The intent is a new run of the original's stack (same
  name): the stack's other resources stay in it unchanged (no-ops in the plan), so nothing else is touched and the
  stack keeps owning everything;
- nothing is deleted behind their back. Resources that appeared out of band are not re-created (there is nothing
  to restore) and are not in the intent. They are listed in `parameters.remediation`: under `destroy` those this
  deployment owns (leftovers it is responsible for; a plan diffing against its live records removes them), under
  `review` those owned by no deployment (created by hand: someone decides, the orchestrator does not delete them);
- a person approves it: `auto_approve` is always False, whatever the original said.

The intent keeps the original's name, providers, regions, environment, strategy, rollback and concurrency settings.
It passes `validate_intent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.errors import DomainError
from ..domain.intent import DeploymentIntent, ResourceSpec, validate_intent
from ..domain.resources import CloudResource
from .detector import IGNORED_PROPERTIES
from .report import DriftReport, DriftType

# Long lists stay out of parameters (64 KiB at most): the report holds them all.
MAX_LISTED = 200
MAX_DESCRIPTION = 1000


class NothingToRemediate(DomainError):
    """The report holds nothing an intent can restore (no drift, or only out-of-band additions)."""

    code = "nothing_to_remediate"


def remediation_intent(report: DriftReport, expected: Sequence[CloudResource], *,
                       original: DeploymentIntent) -> DeploymentIntent:
    by_identifier = {r.identifier: r for r in expected}
    restore: set[str] = set()
    owned_extra: list[str] = []
    unmanaged_extra: list[str] = []
    for item in report.items:
        if item.drift_type == DriftType.RESOURCE_ADDED:
            owner = (item.actual_value or {}).get("deployment_id") if isinstance(item.actual_value, dict) else None
            (owned_extra if owner == report.deployment_id else unmanaged_extra).append(item.resource_identifier)
        else:
            restore.add(item.resource_identifier)

    unknown = sorted(restore - by_identifier.keys())
    if unknown:
        raise ValueError(f"the report names resources absent from the expected state: {', '.join(unknown[:5])}")
    if not restore:
        extra = len(owned_extra) + len(unmanaged_extra)
        reason = f"only {extra} out-of-band resource(s), which an intent cannot express" if extra else "no drift"
        raise NothingToRemediate(f"nothing to restore on deployment {report.deployment_id}: {reason}")

    # The original's order first (it is the order the user wrote), then anything it no longer names.
    original_order = {spec.identifier: i for i, spec in enumerate(original.resources)}
    original_specs = {spec.identifier: spec for spec in original.resources}
    ordered = sorted(restore | original_specs.keys(),
                     key=lambda ident: (original_order.get(ident, len(original_order)), ident))
    included = set(ordered)
    resources = [_spec(by_identifier[ident], original_specs.get(ident), included) if ident in restore
                 else _without_faults(original_specs[ident]) for ident in ordered]
    description = (f"Restore {len(resources)} drifted resource(s) of deployment {report.deployment_id} "
                   f"(drift report {report.id}). {report.summary}")
    if owned_extra or unmanaged_extra:
        description += (f" Not re-created: {len(owned_extra)} out-of-band resource(s) this deployment owns "
                        f"(parameters.remediation.destroy) and {len(unmanaged_extra)} owned by no deployment "
                        "(parameters.remediation.review, left untouched).")
    parameters: dict[str, Any] = {
        **original.parameters,
        "remediation": {
            "drift_report_id": report.id,
            "deployment_id": report.deployment_id,
            "restore_count": len(resources),
            "destroy": sorted(owned_extra)[:MAX_LISTED],
            "destroy_count": len(owned_extra),
            "review": sorted(unmanaged_extra)[:MAX_LISTED],
            "review_count": len(unmanaged_extra),
        },
    }
    intent = original.model_copy(update={
        "description": _truncate(description, MAX_DESCRIPTION),
        "resources": resources,
        "auto_approve": False,
        "parameters": parameters,
    })
    return validate_intent(intent.model_dump(mode="json"))


def _spec(resource: CloudResource, original: ResourceSpec | None, included: set[str]) -> ResourceSpec:
    dependencies = [dep for dep in original.dependencies if dep in included] if original else []
    return ResourceSpec(
        resource_type=resource.resource_type, provider=resource.provider, region=resource.region, name=resource.name,
        properties={k: v for k, v in resource.properties.items() if k not in IGNORED_PROPERTIES},
        tags=dict(resource.tags), dependencies=dependencies,
    )


def _without_faults(spec: ResourceSpec) -> ResourceSpec:
    if not IGNORED_PROPERTIES & spec.properties.keys():
        return spec
    return spec.model_copy(update={"properties": {k: v for k, v in spec.properties.items()
                                                  if k not in IGNORED_PROPERTIES}})


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
