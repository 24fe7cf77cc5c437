"""A resource as the (simulated) cloud holds it: what the inventory stores and what drift compares against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from .catalogue import Provider, ResourceType, resource_identifier
from .lifecycle import new_id, utcnow


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
    # None when the resource was created out of band (by hand in the console, not by a deployment).
    deployment_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def identifier(self) -> str:
        return resource_identifier(self.provider.value, self.region, self.resource_type.value, self.name)
