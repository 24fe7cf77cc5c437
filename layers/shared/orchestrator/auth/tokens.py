"""Bearer tokens.

- Session tokens: HS256 JWTs with expiry, issuer, audience and a `jti` (so a logout can revoke one); `alg: none`
  and other algorithms refused. The header's `kid` names the signing key: during a rotation the previous key still
  verifies the tokens it signed, so both are valid for the overlap (at most a session's lifetime).
- API tokens: `orch_` and 43 random characters, for machines. Only their SHA-256 is stored (the secret has 256
  bits of entropy, so a fast hash is enough and lets the authorizer look it up by hash).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from ..domain.users import Role, User

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "orch_"


class InvalidToken(Exception):
    """Missing, malformed, expired, revoked, or signed by someone else. The message is safe to show."""


def key_id(key: str) -> str:
    """A key's public name: derived from it, so a rotation needs no naming convention."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class TokenSettings:
    secret: str  # signs new tokens
    issuer: str
    audience: str
    ttl_seconds: int = 3600
    previous_secret: str | None = None  # still verifies during a rotation

    def key_for(self, kid: str | None) -> str:
        if kid is None:  # tokens signed before keys carried ids
            return self.secret
        for key in (self.secret, self.previous_secret):
            if key and key_id(key) == kid:
                return key
        raise InvalidToken("invalid token")


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session token: who, and which token (for logout)."""

    user: User
    jti: str
    expires_at: int


def issue(user: User, settings: TokenSettings, *, now: float | None = None) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": user.id, "username": user.username, "role": user.role.value, "tenant_id": user.tenant_id,
        "iss": settings.issuer, "aud": settings.audience, "iat": issued, "exp": issued + settings.ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    import jwt  # with cryptography ~25 ms: loaded by the functions that sign or verify, when they first do

    token = jwt.encode(claims, settings.secret, algorithm=ALGORITHM, headers={"kid": key_id(settings.secret)})
    return token, settings.ttl_seconds


def verify_session(token: str, settings: TokenSettings) -> Session:
    """The session the token stands for; `InvalidToken` otherwise (revocation is the caller's to check)."""
    import jwt

    try:
        key = settings.key_for(jwt.get_unverified_header(token).get("kid"))
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=settings.audience, issuer=settings.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        user = User(id=claims["sub"], username=claims["username"], email="", role=Role(claims["role"]),
                    tenant_id=claims["tenant_id"])
        # Tokens issued before logout existed have no jti: their own signature stands in for one.
        return Session(user, str(claims.get("jti") or token.rsplit(".", 1)[-1][:64]), int(claims["exp"]))
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
        raise InvalidToken("invalid token") from None


def verify(token: str, settings: TokenSettings) -> User:
    return verify_session(token, settings).user


def new_api_token() -> tuple[str, str]:
    """(the secret to show once, the hash to store)."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_api_token(secret)


def hash_api_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX)


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        raise InvalidToken("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("authorization header must be 'Bearer <token>'")
    return token.strip()
