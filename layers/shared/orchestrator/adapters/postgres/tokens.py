"""PostgreSQL adapter of the TokenStore port (tables api_tokens and revoked_sessions, migration 0004)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from orchestrator.domain.tokens import ApiToken
from orchestrator.domain.users import Role, User

from .pool import Database
from .repositories import is_uuid

_COLUMNS = "t.id::text, t.tenant_id, t.user_id::text, t.name, t.role, t.created_at, t.expires_at, t.revoked_at"


def _token(row: dict[str, Any]) -> ApiToken:
    return ApiToken(**{**row, "role": Role(row["role"])})


class PgTokenStore:
    def __init__(self, db: Database):
        self._db = db

    def add(self, token: ApiToken, secret_hash: str) -> ApiToken:
        with self._db.connection() as conn:
            conn.execute("""
                INSERT INTO api_tokens (id, tenant_id, user_id, name, role, secret_hash, created_at, expires_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                         (token.id, token.tenant_id, token.user_id, token.name, token.role.value, secret_hash,
                          token.created_at, token.expires_at))
        return token

    def list_for(self, tenant_id: str, user_id: str) -> list[ApiToken]:
        if not is_uuid(user_id):
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_COLUMNS} FROM api_tokens t WHERE t.tenant_id = %s AND t.user_id = %s "
                "ORDER BY t.created_at DESC, t.id", (tenant_id, user_id)).fetchall()
        return [_token(row) for row in rows]

    def revoke(self, tenant_id: str, user_id: str, token_id: str, at: datetime) -> bool:
        if not (is_uuid(token_id) and is_uuid(user_id)):
            return False
        with self._db.connection() as conn:
            # Revoking twice keeps the first time; the token is still the user's, so the answer is "done".
            row = conn.execute("""
                UPDATE api_tokens SET revoked_at = coalesce(revoked_at, %s)
                WHERE id = %s AND tenant_id = %s AND user_id = %s RETURNING id""",
                               (at, token_id, tenant_id, user_id)).fetchone()
        return row is not None

    def find(self, secret_hash: str) -> tuple[ApiToken, User] | None:
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(f"""
                SELECT {_COLUMNS}, u.username, u.email, u.role AS user_role, u.is_active
                FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = %s""",
                                                            (secret_hash,)).fetchone()
        if row is None:
            return None
        user = User(id=row["user_id"], username=row.pop("username"), email=row.pop("email"),
                    role=Role(row.pop("user_role")), tenant_id=row["tenant_id"], is_active=row.pop("is_active"))
        return _token(row), user

    def revoke_session(self, jti: str, expires_at: datetime) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM revoked_sessions WHERE expires_at < now()")  # the list stays short
            conn.execute("INSERT INTO revoked_sessions (jti, expires_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (jti, expires_at))

    def session_revoked(self, jti: str) -> bool:
        with self._db.connection() as conn:
            return conn.execute("SELECT 1 FROM revoked_sessions WHERE jti = %s", (jti,)).fetchone() is not None
