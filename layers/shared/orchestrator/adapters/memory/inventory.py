"""In-memory inventory and result store for unit tests. Thread-safe: the workflow runs a wave's steps on threads.

Records are deep-copied on the way in and out, as a database would serialise them, so a caller mutating what it
got back cannot change what is stored.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from ...domain.lifecycle import utcnow
from ...domain.resources import CloudResource
from ...planning.blast import Dependent


class InMemoryInventory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_identifier: dict[tuple[str, str], CloudResource] = {}
        self._identifier_by_id: dict[tuple[str, str], str] = {}

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
              tags: dict[str, str] | None = None) -> CloudResource | None:
        """An out-of-band change: merge `properties` into the top level (a key set to None stays, as null), replace
        the tags when given."""
        with self._lock:
            identifier = self._identifier_by_id.get((tenant_id, resource_id))
            if identifier is None:
                return None
            current = self._by_identifier[tenant_id, identifier]
            update: dict[str, Any] = {"updated_at": utcnow(), "version": current.version + 1}
            if properties is not None:
                update["properties"] = {**copy.deepcopy(current.properties), **copy.deepcopy(properties)}
            if tags is not None:
                update["tags"] = dict(tags)
            patched = current.model_copy(update=update, deep=True)
            self._by_identifier[tenant_id, identifier] = patched
            return patched.model_copy(deep=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_identifier)


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
