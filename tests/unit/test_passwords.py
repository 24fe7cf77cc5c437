"""Password hashing (argon2id), built on first use rather than at import."""

from orchestrator.auth.passwords import hash_password, verify_password


def test_a_password_verifies_against_its_own_hash_only():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery") is True
    assert verify_password(stored, "wrong horse battery") is False


def test_an_unknown_user_or_a_damaged_hash_never_verifies():
    assert verify_password(None, "not-a-real-password") is False  # the dummy hash's own password
    assert verify_password("not-an-argon2-hash", "anything at all") is False
