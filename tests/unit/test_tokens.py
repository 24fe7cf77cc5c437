"""Session tokens name their signing key; a rotation keeps the previous key valid for the overlap. API token secrets
are random and only their hash is kept."""

import jwt
import pytest

from orchestrator.auth.tokens import (
    InvalidToken,
    TokenSettings,
    hash_api_token,
    is_api_token,
    issue,
    key_id,
    new_api_token,
    verify,
)
from orchestrator.domain.tokens import grantable
from orchestrator.domain.users import Role, User

OLD, NEW = "o" * 48, "n" * 48
USER = User(username="rotating", email="r@example.com", role=Role.VIEWER, tenant_id="t")


def settings(secret: str, previous: str | None = None) -> TokenSettings:
    return TokenSettings(secret=secret, previous_secret=previous, issuer="iss", audience="aud")


def test_the_previous_key_still_verifies_during_a_rotation_and_not_after():
    token, _ = issue(USER, settings(OLD))
    assert jwt.get_unverified_header(token)["kid"] == key_id(OLD)
    assert verify(token, settings(NEW, previous=OLD)).username == "rotating"
    assert jwt.get_unverified_header(issue(USER, settings(NEW, previous=OLD))[0])["kid"] == key_id(NEW)
    with pytest.raises(InvalidToken):
        verify(token, settings(NEW))


def test_a_token_without_a_key_id_is_checked_against_the_signing_key_only():
    claims = {"sub": USER.id, "username": "u", "role": "viewer", "tenant_id": "t", "iss": "iss", "aud": "aud",
              "iat": 1, "exp": 2**40}
    assert verify(jwt.encode(claims, NEW, algorithm="HS256"), settings(NEW, previous=OLD)).username == "u"
    with pytest.raises(InvalidToken):
        verify(jwt.encode(claims, OLD, algorithm="HS256"), settings(NEW, previous=OLD))


def test_api_token_secrets_are_random_and_stored_as_their_hash():
    (first, first_hash), (second, _) = new_api_token(), new_api_token()
    assert first != second and is_api_token(first) and len(first) > 40
    assert first_hash == hash_api_token(first) and first not in first_hash and len(first_hash) == 64


@pytest.mark.parametrize(("caller", "requested", "allowed"), [
    (Role.ADMIN, Role.ADMIN, True), (Role.OPERATOR, Role.DEPLOYER, True), (Role.OPERATOR, Role.ADMIN, False),
    (Role.DEPLOYER, Role.OPERATOR, False), (Role.VIEWER, Role.VIEWER, True), (Role.DEPLOYER, Role.VIEWER, True),
])
def test_a_token_role_is_never_above_its_creators(caller: Role, requested: Role, allowed: bool):
    assert grantable(caller, requested) is allowed
