"""The simulated cloud's console: look at the inventory and change it out of band, which is how drift happens."""

from __future__ import annotations

from typing import Any

from ..domain.errors import NotFound
from ..domain.resources import CloudResource, StandbyResource
from ..domain.users import Permission, User
from .access import require
from .requests import ResourcePatch, parse
from .services import Services


def list_resources(svc: Services, user: User, *, deployment_id: str | None, after: str | None = None,
                   limit: int = 100) -> tuple[list[CloudResource], str | None]:
    """A page of the tenant's inventory in identifier order, and the identifier to continue after (None on the last
    page). One more record than asked is read to tell whether another page follows."""
    require(user, Permission.CLOUD_READ)
    found = svc.inventory.list(user.tenant_id, deployment_id=deployment_id, after=after, limit=limit + 1)
    page = found[:limit]
    return page, (page[-1].identifier if len(found) > limit else None)


def get_resource(svc: Services, user: User, resource_id: str) -> tuple[CloudResource, StandbyResource | None]:
    """A resource and its standby instance, if it has one."""
    require(user, Permission.CLOUD_READ)
    resource = svc.inventory.get_by_id(user.tenant_id, resource_id)
    if resource is None:
        raise NotFound(f"resource {resource_id} not found")
    return resource, svc.inventory.standby(user.tenant_id, resource.identifier)


def patch_resource(svc: Services, user: User, resource_id: str, payload: Any) -> CloudResource:
    require(user, Permission.CLOUD_WRITE)
    patch = parse(ResourcePatch, payload)
    changed = svc.inventory.patch(user.tenant_id, resource_id, properties=patch.properties, tags=patch.tags,
                                  health=patch.health)
    if changed is None:
        raise NotFound(f"resource {resource_id} not found")
    return changed


def delete_resource(svc: Services, user: User, resource_id: str) -> None:
    require(user, Permission.CLOUD_WRITE)
    resource = svc.inventory.get_by_id(user.tenant_id, resource_id)
    if resource is None or not svc.inventory.delete(user.tenant_id, resource.identifier):
        raise NotFound(f"resource {resource_id} not found")
