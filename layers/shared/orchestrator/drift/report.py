"""A drift report: how the live cloud differs from what a deployment declared, item by item, with severities."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, computed_field

from ..domain.lifecycle import new_id, utcnow
from ..domain.severity import Severity

DriftSeverity = Severity
# Most severe first: the order of report items and of the summary's counts.
SEVERITY_ORDER = (DriftSeverity.CRITICAL, DriftSeverity.HIGH, DriftSeverity.MEDIUM, DriftSeverity.LOW)


class DriftType(StrEnum):
    RESOURCE_REMOVED = "resource_removed"
    RESOURCE_ADDED = "resource_added"
    PROPERTY_CHANGED = "property_changed"
    TAG_CHANGED = "tag_changed"


ScanType = Literal["scheduled", "manual"]


class DriftItem(BaseModel):
    """One difference. Values are JSON; None where a side is absent.

    For `resource_removed` and `resource_added`, `property_path` is None and the present side holds the resource's
    `{"properties": ..., "tags": ..., "deployment_id": ...}`; otherwise the path is dotted (`properties.network.cidr`,
    `tags.team`).
    """

    model_config = ConfigDict(frozen=True)

    drift_type: DriftType
    resource_identifier: str
    property_path: str | None = None
    expected_value: JsonValue = None
    actual_value: JsonValue = None
    severity: DriftSeverity


SUMMARY_NAMES = 5


class DriftReport(BaseModel):
    id: str = Field(default_factory=new_id)
    tenant_id: str
    deployment_id: str
    scan_type: ScanType = "scheduled"
    items: list[DriftItem] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    # The deployment created to restore the expected state, once someone asked for one.
    remediation_deployment_id: str | None = None

    @computed_field
    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    @computed_field
    @property
    def critical_count(self) -> int:
        return self._count(DriftSeverity.CRITICAL)

    @computed_field
    @property
    def high_count(self) -> int:
        return self._count(DriftSeverity.HIGH)

    @computed_field
    @property
    def medium_count(self) -> int:
        return self._count(DriftSeverity.MEDIUM)

    @computed_field
    @property
    def low_count(self) -> int:
        return self._count(DriftSeverity.LOW)

    @computed_field
    @property
    def max_severity(self) -> DriftSeverity | None:
        return max((item.severity for item in self.items), key=lambda severity: severity.rank, default=None)

    @computed_field
    @property
    def summary(self) -> str:
        """E.g. "3 drift items on deployment d-1: 1 critical, 2 high. Removed: aws/...; changed: gcp/... (2 changes)."""
        if not self.items:
            return f"No drift on deployment {self.deployment_id}."
        counts = ", ".join(f"{self._count(s)} {s.value}" for s in SEVERITY_ORDER if self._count(s))
        noun = "item" if len(self.items) == 1 else "items"
        removed: list[str] = []
        added: list[str] = []
        changes: dict[str, int] = {}
        for item in self.items:
            if item.drift_type == DriftType.RESOURCE_REMOVED:
                removed.append(item.resource_identifier)
            elif item.drift_type == DriftType.RESOURCE_ADDED:
                added.append(item.resource_identifier)
            else:
                changes[item.resource_identifier] = changes.get(item.resource_identifier, 0) + 1
        changed = [f"{ident} ({n} change{'s' if n > 1 else ''})" for ident, n in sorted(changes.items())]
        parts = [f"{label}: {_names(names)}" for label, names in
                 (("Removed", sorted(removed)), ("Added", sorted(added)), ("Changed", changed)) if names]
        return f"{len(self.items)} drift {noun} on deployment {self.deployment_id}: {counts}. {'; '.join(parts)}."

    def _count(self, severity: DriftSeverity) -> int:
        return sum(1 for item in self.items if item.severity == severity)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:SUMMARY_NAMES])
    return f"{shown} and {len(names) - SUMMARY_NAMES} more" if len(names) > SUMMARY_NAMES else shown
