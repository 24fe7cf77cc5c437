"""A resource as the (simulated) cloud holds it: what the inventory stores and what drift compares against."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .catalogue import Provider, ResourceType, resource_identifier
from .lifecycle import new_id, utcnow

Health = Literal["healthy", "unhealthy"]
# green: staged beside the serving instance, not serving yet; blue: the instance that served before a switch.
StandbyRole = Literal["green", "blue"]


class CloudResource(BaseModel):
    id: str = Field(default_factory=new_id)
    tenant_id: str
    provider: Provider
    region: str
    resource_type: ResourceType
    name: str
    provider_resource_id: str
    properties: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    # The deployment that last wrote it; None when it was created out of band (by hand, not by a deployment).
    deployment_id: str | None = None
    # The stack (a deployment name within the tenant) that owns it: only that stack's runs update, scan or destroy
    # it, unless another stack's intent adopts it. None when no stack owns it (created by hand).
    stack: str | None = None
    # Bumped by every write, so an apply or an undo can tell whether anybody changed the record since it looked.
    version: int = 1
    # What it depends on (identifiers, possibly of other stacks' resources), as the applied spec said.
    dependencies: list[str] = Field(default_factory=list)
    # Whether the instance serves well. Set by fault injection (`simulate.unhealthy`) or the console. `unhealthy_at`
    # is kept when it recovers, so a watcher can ask whether it was unhealthy at any moment since a given time.
    health: Health = "healthy"
    unhealthy_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def identifier(self) -> str:
        return resource_identifier(self.provider.value, self.region, self.resource_type.value, self.name)


class StandbyResource(CloudResource):
    """The second instance of a resource (blue/green): what differs per instance is its own (provider id, properties,
    tags, health, owner, dependencies, created_at); id, address and version are the serving record's."""

    role: StandbyRole
