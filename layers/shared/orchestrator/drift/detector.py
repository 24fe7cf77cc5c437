"""Drift detection: compare what a deployment declared with what the cloud holds, in one pass over both lists.

Rules:
- an expected resource missing from the cloud is `resource_removed`, critical: whatever depended on it is broken;
- a cloud resource nobody declared is `resource_added`, medium, but only inside the deployment's managed scope: the
  same provider and region as one of its resources, and owned by no deployment (created by hand) or by this one.
  Resources another deployment owns are that deployment's business, and other regions are out of sight;
- a property that differs is `property_changed` at its dotted path (`properties.network.cidr`); nested objects are
  compared key by key, lists and scalars whole. Severity by what the property governs (`property_severity`);
- a tag that differs is `tag_changed` (`tags.team`), low: tags are metadata and change no behaviour.

`simulate` (fault injection for the simulated provider) is an instruction, not state, and is never compared.
Values compare strictly: `1` and `true` differ although Python's `1 == True`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from ..domain.resources import CloudResource
from .report import DriftItem, DriftReport, DriftSeverity, DriftType, ScanType

IGNORED_PROPERTIES = frozenset({"simulate"})

# Security-relevant settings: who can reach the resource, how data is protected in transit and at rest, who may act.
# Matched against the words of every key on the path (`firewall_rules` -> firewall), so nested settings count too.
SECURITY_WORDS = frozenset({
    "public", "publicly", "acl", "acls", "encrypted", "encryption", "kms", "sse", "cmk", "ingress", "egress",
    "firewall", "security", "tls", "ssl", "https", "certificate", "iam", "policy", "policies", "role", "roles",
    "permission", "permissions", "principal", "principals", "rbac", "auth", "authentication", "authorization",
    "password", "secret", "secrets", "mfa", "cors", "whitelist", "allowlist", "audit",
})
# Capacity settings: they change cost and headroom, not who can get in.
CAPACITY_WORDS = frozenset({
    "size", "count", "instances", "capacity", "memory", "cpu", "cpus", "vcpu", "vcpus", "replicas", "sku", "tier",
    "nodes", "iops", "throughput", "concurrency",
})
CAPACITY_KEYS = frozenset({
    "instance_type", "instance_class", "machine_type", "vm_size", "node_type", "storage_gb", "disk_gb", "memory_mb",
    "node_count", "min_size", "max_size",
})


PropertyClass = Literal["security", "capacity", "other"]

# An unclassified property still runs the resource differently from what was declared (a runtime, a CIDR, a retention
# period) and can break what depends on it, so it is not low: low is kept for tags, which change nothing the resource
# does. Capacity shares medium today; it is its own class so that policy can diverge without reclassifying paths.
SEVERITY_BY_CLASS: dict[PropertyClass, DriftSeverity] = {
    "security": DriftSeverity.HIGH,
    "capacity": DriftSeverity.MEDIUM,
    "other": DriftSeverity.MEDIUM,
}


@lru_cache(maxsize=4096)
def property_class(path: str) -> PropertyClass:
    """Security when any key on the path names a security setting (`properties.firewall.rules`), capacity when the
    last key names a size or quantity, other otherwise. `path` starts with `properties.`."""
    keys = [key.lower() for key in path.split(".")[1:]]
    if any(not SECURITY_WORDS.isdisjoint(_words(key)) for key in keys):
        return "security"
    last = keys[-1] if keys else ""
    if last in CAPACITY_KEYS or not CAPACITY_WORDS.isdisjoint(_words(last)):
        return "capacity"
    return "other"


def property_severity(path: str) -> DriftSeverity:
    return SEVERITY_BY_CLASS[property_class(path)]


def _words(key: str) -> list[str]:
    return key.replace("-", "_").split("_")


def detect_drift(expected: Sequence[CloudResource], actual: Sequence[CloudResource], *, deployment_id: str,
                 tenant_id: str, scan_type: ScanType = "scheduled") -> DriftReport:
    """Deterministic and O(n): one dictionary of the live resources, one pass over each list, one sort of the items.

    Live resources of another tenant are ignored, so a report can never name them.
    """
    live = list({_identifier(r): r for r in actual if r.tenant_id == tenant_id}.values())
    scan = DriftScan(deployment_id=deployment_id, tenant_id=tenant_id, scan_type=scan_type)
    scan.compare(expected, live)
    scan.consider_added(live)
    return scan.report()


class DriftScan:
    """`detect_drift` in pieces, so a scan can read a large deployment page by page: `compare` each page of expected
    resources with the live records at their identifiers, then offer the records that may count as added
    (`consider_added`, in any number of pages, each record once) and take the `report`."""

    def __init__(self, *, deployment_id: str, tenant_id: str, scan_type: ScanType = "scheduled"):
        self.deployment_id, self.tenant_id, self.scan_type = deployment_id, tenant_id, scan_type
        self._items: list[DriftItem] = []
        self._declared: set[str] = set()
        self.scopes: set[tuple[str, str]] = set()

    def compare(self, expected: Sequence[CloudResource], actual: Sequence[CloudResource]) -> None:
        """Removed and changed resources among `expected`; `actual` must hold every live record at their
        identifiers (more is harmless)."""
        live: dict[str, CloudResource] = {}
        for resource in actual:
            if resource.tenant_id == self.tenant_id:
                live[_identifier(resource)] = resource
        items = self._items
        for want in expected:
            identifier = _identifier(want)
            self._declared.add(identifier)
            self.scopes.add((want.provider, want.region))
            have = live.get(identifier)
            if have is None:
                items.append(_item(DriftType.RESOURCE_REMOVED, identifier, None, _snapshot(want), None,
                                   DriftSeverity.CRITICAL))
                continue
            if want.properties != have.properties or want.tags != have.tags or not _strictly_equal(want, have):
                for path, before, after in _differences(want.properties, want.tags, have.properties, have.tags):
                    if path.startswith("tags."):
                        items.append(_item(DriftType.TAG_CHANGED, identifier, path, before, after, DriftSeverity.LOW))
                    else:
                        items.append(_item(DriftType.PROPERTY_CHANGED, identifier, path, before, after,
                                           property_severity(path)))

    def consider_added(self, actual: Sequence[CloudResource]) -> None:
        """Added resources among `actual`, once every expected resource was compared (the scopes are known)."""
        for have in actual:
            if have.tenant_id != self.tenant_id:
                continue
            identifier = _identifier(have)
            if (identifier not in self._declared and (have.provider, have.region) in self.scopes
                    and (have.deployment_id is None or have.deployment_id == self.deployment_id)):
                self._items.append(_item(DriftType.RESOURCE_ADDED, identifier, None, None, _snapshot(have),
                                         DriftSeverity.MEDIUM))

    def report(self) -> DriftReport:
        items = sorted(self._items, key=_order)
        return DriftReport(tenant_id=self.tenant_id, deployment_id=self.deployment_id, scan_type=self.scan_type,
                           items=items)


def property_differences(expected_properties: Mapping[str, Any], expected_tags: Mapping[str, str],
                         actual_properties: Mapping[str, Any], actual_tags: Mapping[str, str],
                         ) -> list[tuple[str, Any, Any]]:
    """(dotted path, expected value, actual value) for every difference, sorted by path; None marks an absent side."""
    out = _differences(expected_properties, expected_tags, actual_properties, actual_tags)
    out.sort(key=lambda d: d[0])
    return out


def _differences(expected_properties: Mapping[str, Any], expected_tags: Mapping[str, str],
                 actual_properties: Mapping[str, Any], actual_tags: Mapping[str, str]) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    _diff(_without_ignored(expected_properties), _without_ignored(actual_properties), "properties.", out)
    if expected_tags != actual_tags:
        _diff(expected_tags, actual_tags, "tags.", out)
    return out


# ---------------------------------------------------------------------------------------------------------------------


def _identifier(resource: CloudResource) -> str:
    # `CloudResource.identifier` without its per-field enum lookups: StrEnum members join as their text.
    return "/".join((resource.provider, resource.region, resource.resource_type, resource.name))


_new = object.__new__
_set = object.__setattr__
_ITEM_FIELDS = frozenset(DriftItem.model_fields)


def _item(drift_type: DriftType, identifier: str, path: str | None, expected: Any, actual: Any,
          severity: DriftSeverity) -> DriftItem:
    """Build an item without validation: every value comes from validated inventory records, and a scan of 10,000
    drifted resources would otherwise spend most of its time re-checking them (model_construct is ~5x slower).
    The unit tests check that the result equals a validated `DriftItem`."""
    item = _new(DriftItem)
    _set(item, "__dict__", {"drift_type": drift_type, "resource_identifier": identifier, "property_path": path,
                            "expected_value": expected, "actual_value": actual, "severity": severity})
    _set(item, "__pydantic_fields_set__", set(_ITEM_FIELDS))
    _set(item, "__pydantic_extra__", None)
    _set(item, "__pydantic_private__", None)
    return item


def _snapshot(resource: CloudResource) -> dict[str, Any]:
    return {"properties": dict(_without_ignored(resource.properties)), "tags": dict(resource.tags),
            "deployment_id": resource.deployment_id}


def _order(item: DriftItem) -> tuple[int, str, str, str]:
    return (-item.severity.rank, item.resource_identifier, item.property_path or "", item.drift_type.value)


def _without_ignored(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    # Membership tests of the (one) ignored key: cheaper than a set operation over every property of every resource.
    if not any(key in properties for key in IGNORED_PROPERTIES):
        return properties
    return {key: value for key, value in properties.items() if key not in IGNORED_PROPERTIES}


def _strictly_equal(want: CloudResource, have: CloudResource) -> bool:
    """Equal mappings can still hide a 1 -> true change; only asked when `==` already says equal."""
    return _same_kinds(want.properties, have.properties)


def _diff(expected: Mapping[str, Any], actual: Mapping[str, Any], prefix: str, out: list) -> None:
    for key, want in expected.items():
        path = f"{prefix}{key}"
        if key not in actual:
            out.append((path, want, None))
            continue
        have = actual[key]
        if isinstance(want, dict) and isinstance(have, dict):
            if want != have or not _same_kinds(want, have):
                _diff(want, have, f"{path}.", out)
        elif want != have or not _same_kinds(want, have):
            out.append((path, want, have))
    for key, have in actual.items():
        if key not in expected:
            out.append((f"{prefix}{key}", None, have))


def _same_kinds(a: Any, b: Any) -> bool:
    """For values that compare equal: False when a bool stands where the other side has a number.

    Exact type checks instead of `isinstance` against the ABCs: this runs on every unchanged resource of a scan, and
    inventory values are JSON (dict, list, str, int, float, bool, None).
    """
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb
    if ta is dict and tb is dict:
        for key, value in a.items():
            other = b.get(key)
            tv, to = type(value), type(other)
            if tv is bool or to is bool:
                if tv is not to:
                    return False
            elif (tv is dict or tv is list) and not _same_kinds(value, other):
                return False
        return True
    if ta is list and tb is list:
        return all(_same_kinds(x, y) for x, y in zip(a, b, strict=False))
    return True
