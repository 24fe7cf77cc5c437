"""Port: the cloud inventory the simulated provider writes and drift detection reads.

Adapters: `adapters/memory/inventory.py` (unit tests) and the PostgreSQL adapter (everywhere else).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ..domain.resources import CloudResource, Health, StandbyResource, StandbyRole
from ..planning.blast import Dependent


class Inventory(Protocol):
    def get(self, tenant_id: str, identifier: str) -> CloudResource | None: ...

    def get_by_id(self, tenant_id: str, resource_id: str) -> CloudResource | None: ...

    def upsert(self, resource: CloudResource) -> CloudResource:
        """Create or replace the resource at (tenant, identifier); returns what is stored."""
        ...

    def delete(self, tenant_id: str, identifier: str) -> bool:
        """Remove the resource; False when it was not there."""
        ...

    def at(self, tenant_id: str, identifiers: list[str]) -> list[CloudResource]:
        """The records at `identifiers` (absent ones are left out), by identifier."""
        ...

    def list(self, tenant_id: str, deployment_id: str | None = None, *, after: str | None = None,
             limit: int | None = None) -> list[CloudResource]:
        """A page of the tenant's records (only one deployment's when `deployment_id` is given), by identifier,
        those after `after`."""
        ...

    def for_stack(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[CloudResource]:
        """The records `stack` owns plus those at `identifiers`, whoever owns them."""
        ...

    def drift_candidates(self, tenant_id: str, deployment_id: str, scopes: list[tuple[str, str]], *,
                         after: str | None = None, limit: int = 500) -> list[CloudResource]:
        """A page, by identifier after `after`, of what a drift scan may report as added: the records the
        deployment owns and those nobody owns in its (provider, region) scopes."""
        ...

    def dependents(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[Dependent]:
        """The records with recorded dependencies that reach, directly or through other records, what `stack` owns
        or the `identifiers` (blast radius, cross-stack dependents). May include more; never misses one."""
        ...

    def patch(self, tenant_id: str, resource_id: str, properties: dict[str, Any] | None = None,
              tags: dict[str, str] | None = None, health: Health | None = None) -> CloudResource | None:
        """Out-of-band change (the console): merge properties, replace tags, set the health (`unhealthy_at` becomes
        now when it turns unhealthy). None when unknown."""
        ...

    def unhealthy(self, tenant_id: str, identifiers: list[str], *, since: datetime | None = None,
                  standby: bool = False) -> list[str]:
        """The identifiers, in the given order, whose serving instance (standby: whose standby instance) is missing,
        unhealthy, or became unhealthy at or after `since`. One read whatever the number of identifiers."""
        ...

    # Standby instances (blue/green): at most one per record, deleted with it. ------------------------------------

    def standby(self, tenant_id: str, identifier: str) -> StandbyResource | None: ...

    def standbys_at(self, tenant_id: str, identifiers: list[str]) -> list[StandbyResource]:
        """The standby instances at `identifiers` (absent ones are left out), by identifier."""
        ...

    def add_standby(self, standby: StandbyResource) -> StandbyResource | None:
        """Stage `standby` beside its existing record; None when the record does not exist or already has one."""
        ...

    def swap_standby(self, tenant_id: str, identifier: str, role: StandbyRole) -> tuple[CloudResource,
                                                                                        StandbyResource] | None:
        """In one transaction, when the standby has `role`: it serves (the record, same id, takes its instance and a
        new version) and the instance that served becomes the standby with the other role. Returns (serving,
        standby) after the swap; None when the record has no standby with that role."""
        ...

    def delete_standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        """Remove the standby instance; returns what was removed, None when there was none."""
        ...


class ResultStore(Protocol):
    """First-result-wins record of provider operations, keyed by a step's idempotency key."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put_if_absent(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """Store `result` unless the key already has one; return whichever is stored."""
        ...
