-- API tokens for machines (CI, scripts): only a hash of the secret is stored; revoked or expired tokens stop
-- authorizing. Session tokens (JWTs) that their user logged out of, until they would have expired anyway.

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL CHECK (tenant_id <> ''),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role        text NOT NULL CHECK (role <> ''),
    secret_hash text NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_owner ON api_tokens (tenant_id, user_id, created_at DESC);

CREATE TABLE revoked_sessions (
    jti        text PRIMARY KEY CHECK (jti <> ''),
    expires_at timestamptz NOT NULL
);
