"""Users, roles and what each role may do (the original design's matrix, plus the simulated cloud console)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from .lifecycle import new_id, utcnow

DEFAULT_TENANT = "default"


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    DEPLOYER = "deployer"
    VIEWER = "viewer"


class Permission(StrEnum):
    DEPLOYMENT_CREATE = "deployment:create"
    DEPLOYMENT_READ = "deployment:read"
    DEPLOYMENT_APPROVE = "deployment:approve"
    DEPLOYMENT_CANCEL = "deployment:cancel"
    DEPLOYMENT_ROLLBACK = "deployment:rollback"
    DRIFT_SCAN = "drift:scan"
    DRIFT_READ = "drift:read"
    DRIFT_REMEDIATE = "drift:remediate"
    CLOUD_READ = "cloud:read"
    CLOUD_WRITE = "cloud:write"
    USER_MANAGE = "user:manage"
    # Policy sets and freeze windows; overriding soft-mandatory findings. Admins only.
    POLICY_MANAGE = "policy:manage"
    SYSTEM_ADMIN = "system:admin"
    NOTIFICATION_MANAGE = "notification:manage"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({
        P.DEPLOYMENT_CREATE, P.DEPLOYMENT_READ, P.DEPLOYMENT_APPROVE, P.DEPLOYMENT_CANCEL, P.DEPLOYMENT_ROLLBACK,
        P.DRIFT_SCAN, P.DRIFT_READ, P.DRIFT_REMEDIATE, P.CLOUD_READ, P.CLOUD_WRITE,
    }),
    Role.DEPLOYER: frozenset({P.DEPLOYMENT_CREATE, P.DEPLOYMENT_READ, P.DRIFT_READ, P.CLOUD_READ}),
    Role.VIEWER: frozenset({P.DEPLOYMENT_READ, P.DRIFT_READ, P.CLOUD_READ}),
}


class User(BaseModel):
    id: str = Field(default_factory=new_id)
    username: str
    email: str
    role: Role = Role.VIEWER
    tenant_id: str = DEFAULT_TENANT
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    def can(self, permission: Permission) -> bool:
        return self.is_active and permission in ROLE_PERMISSIONS[self.role]
