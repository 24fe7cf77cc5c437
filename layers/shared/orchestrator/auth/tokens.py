"""Bearer tokens: HS256 JWTs with expiry, issuer and audience checked; `alg: none` and other algorithms refused."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from ..domain.users import Role, User

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """Missing, malformed, expired, or signed by someone else. The message is safe to show."""


@dataclass(frozen=True, slots=True)
class TokenSettings:
    secret: str
    issuer: str
    audience: str
    ttl_seconds: int = 3600


def issue(user: User, settings: TokenSettings, *, now: float | None = None) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": user.id, "username": user.username, "role": user.role.value, "tenant_id": user.tenant_id,
        "iss": settings.issuer, "aud": settings.audience, "iat": issued, "exp": issued + settings.ttl_seconds,
    }
    return jwt.encode(claims, settings.secret, algorithm=ALGORITHM), settings.ttl_seconds


def verify(token: str, settings: TokenSettings) -> User:
    """The user the token speaks for; `InvalidToken` otherwise."""
    try:
        claims = jwt.decode(
            token, settings.secret, algorithms=[ALGORITHM], audience=settings.audience, issuer=settings.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        return User(id=claims["sub"], username=claims["username"], email="", role=Role(claims["role"]),
                    tenant_id=claims["tenant_id"])
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except (jwt.InvalidTokenError, KeyError, ValueError):
        raise InvalidToken("invalid token") from None


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        raise InvalidToken("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("authorization header must be 'Bearer <token>'")
    return token.strip()
