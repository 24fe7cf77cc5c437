"""Passwords are stored as argon2id hashes (memory-hard), never in clear and never logged."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 12


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """Built when a password is first hashed or checked: only the API and the migrate function ever do."""
    from argon2 import PasswordHasher

    # OWASP's second argon2id profile (19 MiB, t=2) keeps a Lambda login under ~50 ms.
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong user costs the same time as a wrong password."""
    return _hasher().hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    dummy = _dummy_hash()  # built at the first check whoever it is for, so that its cost tells nothing
    try:
        return _hasher().verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
