"""Log in, register users, and create the first admin of a fresh install."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..auth.passwords import MIN_LENGTH, hash_password, verify_password
from ..auth.tokens import TokenSettings, issue
from ..domain.errors import AuthenticationFailed, PermissionDenied, Throttled
from ..domain.users import DEFAULT_TENANT, Permission, Role, User
from ..ports.repositories import UserRepository
from ..ports.throttle import AttemptCounter
from .access import require
from .requests import parse

MAX_FAILED_LOGINS = 5
LOCKOUT_SECONDS = 900
_USERNAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{2,63}$"
_TENANT = r"^[a-z0-9][a-z0-9-]{1,62}$"


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=_USERNAME)
    email: str = Field(max_length=254)
    password: str = Field(min_length=MIN_LENGTH, max_length=256)
    role: Role = Role.VIEWER
    tenant_id: str | None = Field(default=None, pattern=_TENANT)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("must be an email address")
        return value.lower()


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def login(users: UserRepository, attempts: AttemptCounter, tokens: TokenSettings, payload: Any) -> dict[str, Any]:
    """A wrong user and a wrong password fail alike (same message, same hashing cost); five failures in a row
    lock the username for 15 minutes."""
    creds: Credentials = parse(Credentials, payload)
    key = f"login:{creds.username.lower()}"
    if attempts.count(key) >= MAX_FAILED_LOGINS:
        raise Throttled("too many failed logins; try again later", LOCKOUT_SECONDS)
    found = users.get_with_password(creds.username)
    user, password_hash = found if found else (None, None)
    if not verify_password(password_hash, creds.password) or user is None or not user.is_active:
        attempts.hit(key, window_seconds=LOCKOUT_SECONDS)
        raise AuthenticationFailed("invalid username or password")
    attempts.reset(key)
    token, expires_in = issue(user, tokens)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


def register(users: UserRepository, admin: User, payload: Any) -> User:
    require(admin, Permission.USER_MANAGE)
    form: Registration = parse(Registration, payload)
    tenant = form.tenant_id or admin.tenant_id
    if tenant != admin.tenant_id and admin.tenant_id != DEFAULT_TENANT:
        raise PermissionDenied("only an admin of tenant 'default' may create users in another tenant")
    user = User(username=form.username, email=form.email, role=form.role, tenant_id=tenant)
    return users.add(user, hash_password(form.password))


def ensure_bootstrap_admin(users: UserRepository, username: str, password: str, email: str) -> User | None:
    """On a fresh install (no users at all), create the configured admin in tenant 'default'."""
    if users.count() > 0:
        return None
    return users.add(User(username=username, email=email, role=Role.ADMIN, tenant_id=DEFAULT_TENANT),
                     hash_password(password))
