"""Authentication: password hashing (argon2id) and bearer tokens (HS256 JWT)."""
