"""In-memory inventory and result store for unit tests. Thread-safe: the workflow runs a wave's steps on threads.

Records are deep-copied on the way in and out, as a database would serialise them, so a caller mutating what it
got back cannot change what is stored.
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any

from ...domain.lifecycle import utcnow
from ...domain.resources import CloudResource, Health, StandbyResource, StandbyRole
from ...planning.blast import Dependent


class InMemoryInventory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_identifier: dict[tuple[str, str], CloudResource] = {}
        self._identifier_by_id: dict[tuple[str, str], str] = {}
        self._standby: dict[tuple[str, str], StandbyResource] = {}

    def get(self, tenant_id: str, identifier: str) -> CloudResource | None:
        with self._lock:
            found = self._by_identifier.get((tenant_id, identifier))
            return found.model_copy(deep=True) if found else None

    def get_by_id(self, tenant_id: str, resource_id: str) -> CloudResource | None:
        with self._lock:
            identifier = self._identifier_by_id.get((tenant_id, resource_id))
            return self._by_identifier[tenant_id, identifier].model_copy(deep=True) if identifier else None

    def upsert(self, resource: CloudResource) -> CloudResource:
        stored = resource.model_copy(deep=True)
        key = (stored.tenant_id, stored.identifier)
        with self._lock:
            previous = self._by_identifier.get(key)
            if previous is not None:
                self._identifier_by_id.pop((previous.tenant_id, previous.id), None)
                stored.version = previous.version + 1  # as the database's trigger does
            else:
                stored.version = 1
            self._by_identifier[key] = stored
            self._identifier_by_id[stored.tenant_id, stored.id] = stored.identifier
            return stored.model_copy(deep=True)

    def delete(self, tenant_id: str, identifier: str) -> bool:
        with self._lock:
            removed = self._by_identifier.pop((tenant_id, identifier), None)
            if removed is None:
                return False
            self._identifier_by_id.pop((tenant_id, removed.id), None)
            self._standby.pop((tenant_id, identifier), None)
            return True

    def dependents(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[Dependent]:
        """Every record of the tenant with dependencies (a superset of what the port promises); environments are
        unknown here (no deployments table)."""
        with self._lock:
            return [Dependent(r.identifier, list(r.dependencies), r.provider.value, "unknown", r.stack)
                    for (tenant, _), r in self._by_identifier.items() if tenant == tenant_id and r.dependencies]

    def at(self, tenant_id: str, identifiers: list[str]) -> list[CloudResource]:
        wanted = set(identifiers)
        return [r for r in self.list(tenant_id) if r.identifier in wanted]

    def list(self, tenant_id: str, deployment_id: str | None = None, *, after: str | None = None,
             limit: int | None = None) -> list[CloudResource]:
        """The tenant's resources (only one deployment's when `deployment_id` is given), by identifier."""
        with self._lock:
            found = [r for (tenant, identifier), r in self._by_identifier.items()
                     if tenant == tenant_id and (deployment_id is None or r.deployment_id == deployment_id)
                     and (after is None or identifier > after)]
            found.sort(key=lambda r: r.identifier)
            return [r.model_copy(deep=True) for r in found[:limit]]

    def for_stack(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[CloudResource]:
        wanted = set(identifiers)
        return [r for r in self.list(tenant_id) if r.stack == stack or r.identifier in wanted]

    def drift_candidates(self, tenant_id: str, deployment_id: str, scopes: list[tuple[str, str]], *,
                         after: str | None = None, limit: int = 500) -> list[CloudResource]:
        within = set(scopes)
        return [r for r in self.list(tenant_id, after=after)
                if r.deployment_id == deployment_id
                or (r.deployment_id is None and (r.provider.value, r.region) in within)][:limit]

    def patch(self, tenant_id: str, resource_id: str, properties: dict[str, Any] | None = None,
              tags: dict[str, str] | None = None, health: Health | None = None) -> CloudResource | None:
        """An out-of-band change: merge `properties` into the top level (a key set to None stays, as null), replace
        the tags when given, set the health (`unhealthy_at` moves only when it turns unhealthy)."""
        with self._lock:
            identifier = self._identifier_by_id.get((tenant_id, resource_id))
            if identifier is None:
                return None
            current = self._by_identifier[tenant_id, identifier]
            now = utcnow()
            update: dict[str, Any] = {"updated_at": now}
            # As the database's trigger: a change of health alone keeps the version (it is observed, not written).
            if properties is not None or tags is not None or health is None or health == current.health:
                update["version"] = current.version + 1
            if properties is not None:
                update["properties"] = {**copy.deepcopy(current.properties), **copy.deepcopy(properties)}
            if tags is not None:
                update["tags"] = dict(tags)
            if health is not None:
                update["health"] = health
                if health == "unhealthy" and current.health == "healthy":
                    update["unhealthy_at"] = now
            patched = current.model_copy(update=update, deep=True)
            self._by_identifier[tenant_id, identifier] = patched
            return patched.model_copy(deep=True)

    def unhealthy(self, tenant_id: str, identifiers: list[str], *, since: datetime | None = None,
                  standby: bool = False) -> list[str]:
        with self._lock:
            instances = self._standby if standby else self._by_identifier
            found = [instances.get((tenant_id, identifier)) for identifier in identifiers]
            return [identifier for identifier, instance in zip(identifiers, found, strict=True)
                    if instance is None or instance.health == "unhealthy"
                    or (since is not None and instance.unhealthy_at is not None and instance.unhealthy_at >= since)]

    def standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        found = self.standbys_at(tenant_id, [identifier])
        return found[0] if found else None

    def standbys_at(self, tenant_id: str, identifiers: list[str]) -> list[StandbyResource]:
        with self._lock:
            return [self._standby_view(self._standby[tenant_id, identifier])
                    for identifier in sorted(set(identifiers)) if (tenant_id, identifier) in self._standby]

    def add_standby(self, standby: StandbyResource) -> StandbyResource | None:
        key = (standby.tenant_id, standby.identifier)
        with self._lock:
            if key not in self._by_identifier or key in self._standby:
                return None
            self._standby[key] = standby.model_copy(deep=True)
            return self._standby_view(self._standby[key])

    def swap_standby(self, tenant_id: str, identifier: str, role: StandbyRole) -> tuple[CloudResource,
                                                                                        StandbyResource] | None:
        key = (tenant_id, identifier)
        with self._lock:
            serving, staged = self._by_identifier.get(key), self._standby.get(key)
            if serving is None or staged is None or staged.role != role:
                return None
            now = utcnow()
            promoted = serving.model_copy(update={**_instance(staged), "version": serving.version + 1,
                                                  "updated_at": now}, deep=True)
            demoted = staged.model_copy(update={**_instance(serving), "role": "blue" if role == "green" else "green",
                                                "created_at": now, "updated_at": now}, deep=True)
            self._by_identifier[key], self._standby[key] = promoted, demoted
            return promoted.model_copy(deep=True), self._standby_view(demoted)

    def delete_standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        with self._lock:
            removed = self._standby.pop((tenant_id, identifier), None)
            return self._standby_view(removed) if removed is not None else None

    def _standby_view(self, standby: StandbyResource) -> StandbyResource:
        """The standby with its record's id and version, as the database's join gives them (caller holds the lock)."""
        record = self._by_identifier.get((standby.tenant_id, standby.identifier))
        update = {"id": record.id, "version": record.version} if record is not None else {}
        return standby.model_copy(update=update, deep=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_identifier)


def _instance(resource: CloudResource) -> dict[str, Any]:
    """What differs between a record's serving and standby instances."""
    return {field: copy.deepcopy(getattr(resource, field))
            for field in ("provider_resource_id", "properties", "tags", "health", "unhealthy_at", "deployment_id",
                          "stack", "dependencies")}


class InMemoryResultStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._results.get(key)
            return copy.deepcopy(found) if found is not None else None

    def put_if_absent(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = self._results.setdefault(key, copy.deepcopy(result))
            return copy.deepcopy(stored)
