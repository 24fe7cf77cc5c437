"""Log in, register users, and create the first admin of a fresh install."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..auth.passwords import MIN_LENGTH, hash_password, verify_password
from ..auth.tokens import TokenSettings, issue
from ..domain.errors import AuthenticationFailed, DependencyUnavailable, PermissionDenied, Throttled
from ..domain.users import DEFAULT_TENANT, Permission, Role, User
from ..ports.repositories import UserRepository
from ..ports.throttle import AttemptCounter
from .access import require
from .requests import parse

MAX_FAILED_LOGINS = 5  # per username and client address
MAX_FAILED_LOGINS_PER_ADDRESS = 50  # whatever the usernames
LOCKOUT_SECONDS = 900
_USERNAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{2,63}$"
_TENANT = r"^[a-z0-9][a-z0-9-]{1,62}$"
T = TypeVar("T")
log = logging.getLogger(__name__)


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


def login(users: UserRepository, attempts: AttemptCounter, tokens: TokenSettings, payload: Any, *,
          client_address: str) -> dict[str, Any]:
    """A wrong user and a wrong password fail alike (same message, same hashing cost).

    Failures are counted per username *and* client address: five lock that username for that address only, so
    nobody can lock another user out from elsewhere. An address with MAX_FAILED_LOGINS_PER_ADDRESS failures
    (whatever the usernames: password spraying) is refused altogether. Both for LOCKOUT_SECONDS from the first
    failure. Without the counter store (Valkey down), logins go on unthrottled: locking every user out during an
    outage would be worse than a quarter of an hour without brute-force protection.
    """
    creds: Credentials = parse(Credentials, payload)
    user_key = f"login:{creds.username.lower()}:{client_address}"
    address_key = f"login-address:{client_address}"
    counts = _degrading(lambda: (attempts.count(address_key), attempts.count(user_key)), (0, 0))
    if counts[0] >= MAX_FAILED_LOGINS_PER_ADDRESS or counts[1] >= MAX_FAILED_LOGINS:
        raise Throttled("too many failed logins; try again later", LOCKOUT_SECONDS)
    found = users.get_with_password(creds.username)
    user, password_hash = found if found else (None, None)
    if not verify_password(password_hash, creds.password) or user is None or not user.is_active:
        _degrading(lambda: [attempts.hit(k, window_seconds=LOCKOUT_SECONDS) for k in (user_key, address_key)], None)
        raise AuthenticationFailed("invalid username or password")
    _degrading(lambda: attempts.reset(user_key), None)
    token, expires_in = issue(user, tokens)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


def _degrading(call: Callable[[], T], fallback: T) -> T:
    try:
        return call()
    except DependencyUnavailable as exc:
        log.warning("failed-login counter unavailable: logins are not throttled until it is back",
                    extra={"dependency": exc.dependency})
        return fallback


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
