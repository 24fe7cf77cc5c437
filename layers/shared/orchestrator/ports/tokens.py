"""Port: where API tokens and logged-out session tokens are kept. Adapter: PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.tokens import ApiToken
from ..domain.users import User


class TokenStore(Protocol):
    def add(self, token: ApiToken, secret_hash: str) -> ApiToken: ...

    def list_for(self, tenant_id: str, user_id: str) -> list[ApiToken]:
        """The user's tokens, newest first (revoked and expired ones too, until they are cleaned up)."""
        ...

    def revoke(self, tenant_id: str, user_id: str, token_id: str, at: datetime) -> bool:
        """False when the user has no such token."""
        ...

    def find(self, secret_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and the user who created it (whatever their state: the caller decides)."""
        ...

    def revoke_session(self, jti: str, expires_at: datetime) -> None: ...

    def session_revoked(self, jti: str) -> bool: ...
