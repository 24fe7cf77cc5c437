"""Authorisation checks shared by every use case: the role's permission, then the tenant boundary."""

from __future__ import annotations

from ..domain.errors import NotFound, PermissionDenied
from ..domain.lifecycle import Deployment
from ..domain.users import Permission, User
from ..ports.repositories import DeploymentHead, DeploymentRepository


def require(user: User, permission: Permission) -> None:
    if not user.can(permission):
        raise PermissionDenied(f"role '{user.role.value}' lacks permission '{permission.value}'")


def load_deployment(repo: DeploymentRepository, user: User, deployment_id: str, permission: Permission) -> Deployment:
    """The deployment if `user` may act on it. Another tenant's deployment is reported as unknown (404), so ids
    cannot be probed across tenants."""
    require(user, permission)
    deployment = repo.get(deployment_id, tenant_id=user.tenant_id)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} not found")
    return deployment


def load_head(repo: DeploymentRepository, user: User, deployment_id: str, permission: Permission) -> DeploymentHead:
    """As `load_deployment`, without loading the intent: for reads, whatever the deployment's size."""
    require(user, permission)
    head = repo.head(deployment_id, tenant_id=user.tenant_id)
    if head is None:
        raise NotFound(f"deployment {deployment_id} not found")
    return head
