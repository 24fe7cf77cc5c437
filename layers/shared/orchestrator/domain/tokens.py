"""API tokens: long-lived credentials for machines, each with a name, a role no higher than its creator's, and an
expiry of at most a year. The secret itself is never part of the record (only its hash is stored)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .lifecycle import new_id, utcnow
from .users import ROLE_PERMISSIONS, Role

MAX_TOKEN_DAYS = 365


class ApiToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    tenant_id: str
    user_id: str
    name: str
    role: Role
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def grantable(caller: Role, requested: Role) -> bool:
    """A token may do nothing its creator cannot: its role's permissions are a subset of the creator's."""
    return ROLE_PERMISSIONS[requested] <= ROLE_PERMISSIONS[caller]
