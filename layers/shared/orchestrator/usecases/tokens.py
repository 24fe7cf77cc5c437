"""API tokens (create, list, revoke) and the caller's own session (log out, refresh)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from ..auth.tokens import (
    InvalidToken,
    TokenSettings,
    hash_api_token,
    is_api_token,
    issue,
    new_api_token,
    verify_session,
)
from ..domain.errors import DependencyUnavailable, NotFound, PermissionDenied
from ..domain.lifecycle import utcnow
from ..domain.tokens import MAX_TOKEN_DAYS, ApiToken, grantable
from ..domain.users import Role, User
from ..ports.repositories import UserRepository
from ..ports.tokens import TokenStore

log = logging.getLogger(__name__)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .:@/+-]+$",
                      description="What the token is for, e.g. 'ci-deploy'")
    role: Role = Field(description="No higher than the caller's own role")
    expires_in_days: int = Field(default=90, ge=1, le=MAX_TOKEN_DAYS)


def create_token(store: TokenStore, user: User, request: TokenRequest) -> tuple[ApiToken, str]:
    """The new token and its secret, which exists only in this answer."""
    if not grantable(user.role, request.role):
        raise PermissionDenied(f"a {user.role.value} cannot create a token with role '{request.role.value}'")
    now = utcnow()
    secret, secret_hash = new_api_token()
    token = ApiToken(tenant_id=user.tenant_id, user_id=user.id, name=request.name, role=request.role,
                     created_at=now, expires_at=now + timedelta(days=request.expires_in_days))
    return store.add(token, secret_hash), secret


def list_tokens(store: TokenStore, user: User) -> list[ApiToken]:
    return store.list_for(user.tenant_id, user.id)


def revoke_token(store: TokenStore, user: User, token_id: str) -> None:
    if not store.revoke(user.tenant_id, user.id, token_id, utcnow()):
        raise NotFound(f"token {token_id} not found")


def logout(store: TokenStore, jti: str, expires_at: int) -> None:
    """The session token stops working (kept on the revoked list until it would have expired anyway)."""
    store.revoke_session(jti, datetime.fromtimestamp(expires_at, UTC))


def refresh(store: TokenStore, users: UserRepository, tokens: TokenSettings, user: User, jti: str,
            expires_at: int) -> dict:
    """A new session token with the user's current role; the old one is revoked."""
    current = users.get(user.id)
    if current is None or not current.is_active:
        raise PermissionDenied("the user no longer exists or is disabled")
    token, expires_in = issue(current, tokens)
    logout(store, jti, expires_at)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


class Caller(BaseModel):
    """Who a bearer token speaks for, and which token it is (a session's jti, or an API token's id)."""

    user: User
    kind: str  # "session" or "api"
    token_id: str
    expires_at: int


def authenticate(store: TokenStore, settings: TokenSettings, token: str) -> Caller:
    """The authorizer's question. API tokens act with their own role, in their creator's tenant, while the creator
    is active; sessions until expiry or logout. `InvalidToken` otherwise."""
    if is_api_token(token):
        found = store.find(hash_api_token(token))
        now = utcnow()
        if found is None or not found[0].active(now) or not found[1].is_active:
            raise InvalidToken("invalid, expired or revoked API token")
        api, owner = found
        return Caller(user=owner.model_copy(update={"role": api.role}), kind="api", token_id=api.id,
                      expires_at=int(api.expires_at.timestamp()))
    session = verify_session(token, settings)
    try:
        revoked = store.session_revoked(session.jti)
    except DependencyUnavailable:
        # The signature and expiry are checked; only a logout could be missed while the database is away.
        log.warning("revoked sessions unavailable: session tokens are checked without them")
        revoked = False
    if revoked:
        raise InvalidToken("token revoked")
    return Caller(user=session.user, kind="session", token_id=session.jti, expires_at=session.expires_at)
