import pytest

from orchestrator.domain.users import ROLE_PERMISSIONS, Permission, Role, User

P = Permission
EXPECTED = {
    Role.ADMIN: set(P),
    Role.OPERATOR: set(P) - {P.USER_MANAGE, P.SYSTEM_ADMIN, P.POLICY_MANAGE, P.NOTIFICATION_MANAGE},
    Role.DEPLOYER: {P.DEPLOYMENT_CREATE, P.DEPLOYMENT_READ, P.DRIFT_READ, P.CLOUD_READ},
    Role.VIEWER: {P.DEPLOYMENT_READ, P.DRIFT_READ, P.CLOUD_READ},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_permission_matrix(role, permission):
    user = User(username="u", email="u@example.com", role=role)
    assert user.can(permission) == (permission in EXPECTED[role])
    assert (permission in ROLE_PERMISSIONS[role]) == (permission in EXPECTED[role])


def test_inactive_user_can_do_nothing():
    user = User(username="u", email="u@example.com", role=Role.ADMIN, is_active=False)
    assert not any(user.can(p) for p in Permission)


def test_users_belong_to_the_default_tenant_unless_told():
    assert User(username="u", email="u@example.com").tenant_id == "default"
