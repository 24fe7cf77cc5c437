"""Desired versus live: which intent resources to create, update or leave alone, and which live ones to destroy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from ..domain.intent import ResourceSpec
from ..domain.resources import CloudResource
from .plan import PathChange, StepAction, trusted

# Fault-injection settings for the simulated provider: how a step should misbehave, not what the resource is.
IGNORED_PROPERTIES = frozenset({"simulate"})

# A key holding one of these (any case, anywhere in its name: `db_password`, `clientSecret`, `auth-token`) holds a
# secret: a plan shows that its value changes, never the value. Broader than the drift detector's security words
# for what to mask (tokens, keys, connection strings), narrower for what to show (`public_access` stays visible).
SECRET_MARKERS = ("password", "passwd", "passphrase", "secret", "token", "credential", "private_key", "privatekey",
                  "api_key", "apikey", "access_key", "accesskey", "connection_string", "connectionstring")
SENSITIVE = "(sensitive)"


@dataclass(frozen=True, slots=True)
class ResourceChange:
    action: StepAction
    identifier: str
    desired: ResourceSpec | None
    live: CloudResource | None
    changed_paths: tuple[str, ...] = ()


def spec_identifier(spec: ResourceSpec) -> str:
    # Same address as `ResourceSpec.identifier`, without its per-field enum `.value` lookups (StrEnum joins as text).
    return "/".join((spec.provider, spec.region, spec.resource_type, spec.name))


def live_identifier(resource: CloudResource) -> str:
    return "/".join((resource.provider, resource.region, resource.resource_type, resource.name))


def index_live(live: Iterable[CloudResource]) -> dict[str, CloudResource]:
    return {live_identifier(resource): resource for resource in live}


def classify(desired: ResourceSpec, live: CloudResource | None) -> tuple[StepAction, list[str]]:
    """create when absent, update (with the changed paths) when properties or tags differ, no-op otherwise.

    Values compare strictly, as drift detection compares them: 1 and 1.0 are equal, 1 and true are not (although
    Python's `1 == True`), so a drift the detector reports is a change the planner repairs.
    """
    if live is None:
        return StepAction.CREATE, []
    # The common case, settled by C-level equality, then identical JSON (which rules out booleans hiding behind
    # 1 == True) or, failing that (key order, 1 vs 1.0), a walk for such booleans.
    if desired.tags == live.tags and desired.properties == live.properties and (
            to_json(desired.properties) == to_json(live.properties)
            or _same_kinds(desired.properties, live.properties)):
        return StepAction.NO_OP, []
    paths = changed_paths(desired.properties, desired.tags, live.properties, live.tags)
    return (StepAction.UPDATE, paths) if paths else (StepAction.NO_OP, paths)


def changed_paths(desired_properties: Mapping[str, Any], desired_tags: Mapping[str, str],
                  live_properties: Mapping[str, Any], live_tags: Mapping[str, str]) -> list[str]:
    """Dotted paths that differ, e.g. `properties.network.cidr` or `tags.team`, sorted."""
    paths: list[str] = []
    _diff_mappings(_without_ignored(desired_properties), _without_ignored(live_properties), "properties.", paths)
    _diff_mappings(desired_tags, live_tags, "tags.", paths)
    paths.sort()
    return paths


def value_changes(desired: ResourceSpec, live: CloudResource) -> list[PathChange]:
    """The old (live) and new (desired) value at each path `changed_paths` reports, in its order. An absent side is
    None; the value of a key that looks secret, or of anything below one, is `SENSITIVE`."""
    found: list[PathChange] = []
    _collect(_without_ignored(desired.properties), _without_ignored(live.properties), "properties.", False, found)
    _collect(desired.tags, live.tags, "tags.", False, found)
    found.sort(key=_path)
    return found


def looks_secret(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return any(marker in lowered for marker in SECRET_MARKERS)


def masked(value: Any, secret: bool) -> Any:
    """`value` as a plan may show it: `SENSITIVE` when secret, else with the values of secret-looking keys inside
    it masked (a whole object or list is reported at the key that holds it)."""
    if value is None:
        return None
    if secret:
        return SENSITIVE
    if isinstance(value, Mapping):
        return {key: masked(item, looks_secret(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, False) for item in value]
    return value


def destroyed(live: Mapping[str, CloudResource], wanted: Iterable[str], stack: str) -> list[CloudResource]:
    """Live resources `stack` owns that its intent no longer names, by identifier (so a plan does not depend on
    inventory order). A record another stack owns, or none (created by hand), is never destroyed."""
    gone = live.keys() - set(wanted)
    return [live[identifier] for identifier in sorted(gone) if live[identifier].stack == stack]


def diff_resources(desired: Sequence[ResourceSpec], live: Sequence[CloudResource], *,
                   stack: str) -> list[ResourceChange]:
    """Every change in plan order: intent resources in intent order, then destroys by identifier."""
    by_identifier = index_live(live)
    changes = []
    for spec in desired:
        identifier = spec_identifier(spec)
        current = by_identifier.get(identifier)
        action, paths = classify(spec, current)
        changes.append(ResourceChange(action, identifier, spec, current, tuple(paths)))
    for resource in destroyed(by_identifier, (change.identifier for change in changes), stack):
        changes.append(ResourceChange(StepAction.DESTROY, live_identifier(resource), None, resource))
    return changes


def _without_ignored(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    if IGNORED_PROPERTIES.isdisjoint(properties):
        return properties
    return {key: value for key, value in properties.items() if key not in IGNORED_PROPERTIES}


def _diff_mappings(desired: Mapping[str, Any], live: Mapping[str, Any], prefix: str, paths: list[str]) -> None:
    if desired == live and _same_kinds(desired, live):
        return
    for key in desired.keys() | live.keys():
        if key not in desired or key not in live:
            paths.append(f"{prefix}{key}")
            continue
        want, have = desired[key], live[key]
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            _diff_mappings(want, have, f"{prefix}{key}.", paths)
        elif want != have or not _same_kinds(want, have):
            # Lists, scalars and type changes are reported whole, at the key that holds them.
            paths.append(f"{prefix}{key}")


def _collect(desired: Mapping[str, Any], live: Mapping[str, Any], prefix: str, secret: bool,
             found: list[PathChange]) -> None:
    """`_diff_mappings` with the values: the same walk, so the same paths."""
    if desired == live and _same_kinds(desired, live):
        return
    for key in desired.keys() | live.keys():
        hidden = secret or looks_secret(key)
        want, have = desired.get(key), live.get(key)
        if key in desired and key in live and isinstance(want, Mapping) and isinstance(have, Mapping):
            _collect(want, have, f"{prefix}{key}.", hidden, found)
        elif key not in desired or key not in live or want != have or not _same_kinds(want, have):
            found.append(trusted(PathChange, {"path": f"{prefix}{key}", "old": masked(have, hidden),
                                              "new": masked(want, hidden)}))


def _path(change: PathChange) -> str:
    return change.path


def _same_kinds(a: Any, b: Any) -> bool:
    """For values already `==`: False when a boolean stands where the other side has a number, at any depth."""
    kind, other = a.__class__, b.__class__
    if kind is bool or other is bool:
        return kind is other
    if (kind is dict or isinstance(a, Mapping)) and (other is dict or isinstance(b, Mapping)):
        for key, value in a.items():
            have = b[key]
            if value.__class__ is have.__class__ and value.__class__ in _SCALARS:
                continue  # the common leaf, decided without a call
            if not _same_kinds(value, have):
                return False
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return all(_same_kinds(x, y) for x, y in zip(a, b, strict=True))
    return True


_SCALARS = frozenset({str, int, float, bool, type(None)})
