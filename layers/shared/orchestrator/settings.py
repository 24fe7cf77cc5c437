"""Runtime configuration, read from the environment in one place.

Settings hold no secret values: DB_SECRET_ARN is resolved lazily by the PostgreSQL adapter, and the URLs
(which may embed a password) are excluded from repr so they cannot end up in logs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """An environment variable has a value we cannot use. The message names the variable, never the value."""


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _number(env: Mapping[str, str], name: str, default: float, convert: Callable[[str], Any], minimum: float):
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {convert.__name__}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}")
    return value


@dataclass(frozen=True, slots=True)
class BootstrapAdmin:
    username: str
    password: str = field(repr=False)
    email: str = "admin@example.com"


@dataclass(frozen=True, slots=True)
class Settings:
    # PostgreSQL: a URL/conninfo, and/or an AWS Secrets Manager secret in RDS format. The URL says where to
    # connect and the secret who connects: its username/password always apply, its host/port/dbname only
    # where the URL gives none (see orchestrator.adapters.postgres.pool.secret_params).
    database_url: str | None = field(default=None, repr=False)
    db_secret_arn: str | None = None
    db_connect_timeout_seconds: float = 5.0
    db_statement_timeout_ms: int = 10_000
    # Ends sessions that sit in an open transaction (e.g. a crashed handler), releasing their row locks.
    db_idle_in_transaction_timeout_ms: int = 60_000
    db_pool_min_size: int = 1
    db_pool_max_size: int = 4
    db_pool_timeout_seconds: float = 5.0
    db_secret_cache_seconds: float = 300.0
    migrations_dir: Path | None = None

    # Redis (ElastiCache / Valkey): locks and fencing counters.
    redis_url: str | None = field(default=None, repr=False)
    redis_socket_timeout_seconds: float = 2.0
    redis_connect_timeout_seconds: float = 2.0
    redis_key_prefix: str = "orch"
    # ElastiCache AUTH: a Secrets Manager secret {"password": ...} (AWS); locally Valkey runs without AUTH.
    redis_auth_secret_arn: str | None = None
    lock_ttl_seconds: float = 60.0

    aws_region: str | None = None
    aws_timeout_seconds: float = 3.0
    service_name: str = "orchestrator"
    # Webhook deliveries: each POST's timeout; loopback receivers are allowed only on one machine (the local cloud).
    webhook_timeout_seconds: float = 5.0
    webhook_allow_loopback: bool = False
    # Access-Control-Allow-Origin of the API's answers (the template's CorsAllowOrigin).
    cors_allow_origin: str = "*"

    # The workflow and the event bus.
    state_machine_arn: str | None = None
    event_bus_name: str | None = None
    approval_timeout_seconds: int = 86_400
    max_concurrency: int = 10
    # Canary and blue/green bakes: at most this long (None: as the intent asks; the local cloud caps it so runs
    # stay quick), the health watched every `bake_check_seconds`.
    bake_seconds_cap: int | None = None
    bake_check_seconds: int = 30

    # Bearer tokens: the HS256 key in clear (local) or in a Secrets Manager secret {"key": ...} (AWS).
    jwt_secret_value: str | None = field(default=None, repr=False)
    jwt_secret_arn: str | None = None
    jwt_previous_secret_value: str | None = field(default=None, repr=False)
    jwt_issuer: str = "multicloud-orchestrator"
    jwt_audience: str = "orchestrator-api"
    token_ttl_seconds: int = 3600

    # The first admin of a fresh install: in clear (local) or a secret {"username", "password"} (AWS).
    bootstrap_admin_username: str | None = None
    bootstrap_admin_password: str | None = field(default=None, repr=False)
    bootstrap_admin_email: str = "admin@example.com"
    bootstrap_admin_secret_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        migrations_dir = _text(env, "ORCH_MIGRATIONS_DIR")
        settings = cls(
            database_url=_text(env, "DATABASE_URL"),
            db_secret_arn=_text(env, "DB_SECRET_ARN"),
            db_connect_timeout_seconds=_number(env, "DB_CONNECT_TIMEOUT_SECONDS", 5.0, float, 1),
            db_statement_timeout_ms=_number(env, "DB_STATEMENT_TIMEOUT_MS", 10_000, int, 1),
            db_idle_in_transaction_timeout_ms=_number(env, "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000, int, 0),
            db_pool_min_size=_number(env, "DB_POOL_MIN_SIZE", 1, int, 0),
            db_pool_max_size=_number(env, "DB_POOL_MAX_SIZE", 4, int, 1),
            db_pool_timeout_seconds=_number(env, "DB_POOL_TIMEOUT_SECONDS", 5.0, float, 0.1),
            db_secret_cache_seconds=_number(env, "DB_SECRET_CACHE_SECONDS", 300.0, float, 0),
            migrations_dir=Path(migrations_dir) if migrations_dir else None,
            redis_url=_text(env, "REDIS_URL"),
            redis_socket_timeout_seconds=_number(env, "REDIS_SOCKET_TIMEOUT_SECONDS", 2.0, float, 0.05),
            redis_connect_timeout_seconds=_number(env, "REDIS_CONNECT_TIMEOUT_SECONDS", 2.0, float, 0.05),
            redis_key_prefix=_text(env, "REDIS_KEY_PREFIX", "orch"),
            redis_auth_secret_arn=_text(env, "REDIS_AUTH_SECRET_ARN"),
            lock_ttl_seconds=_number(env, "LOCK_TTL_SECONDS", 60.0, float, 0.01),
            aws_region=_text(env, "AWS_REGION") or _text(env, "AWS_DEFAULT_REGION"),
            aws_timeout_seconds=_number(env, "AWS_TIMEOUT_SECONDS", 3.0, float, 0.1),
            service_name=_text(env, "POWERTOOLS_SERVICE_NAME", "orchestrator"),
            cors_allow_origin=_text(env, "CORS_ALLOW_ORIGIN", "*"),
            webhook_timeout_seconds=_number(env, "WEBHOOK_TIMEOUT_SECONDS", 5.0, float, 0.1),
            webhook_allow_loopback=_text(env, "WEBHOOK_ALLOW_LOOPBACK", "") in ("1", "true", "yes"),
            state_machine_arn=_text(env, "STATE_MACHINE_ARN"),
            event_bus_name=_text(env, "EVENT_BUS_NAME"),
            approval_timeout_seconds=_number(env, "APPROVAL_TIMEOUT_SECONDS", 86_400, int, 1),
            max_concurrency=min(40, _number(env, "MAX_CONCURRENCY", 10, int, 1)),
            bake_seconds_cap=_number(env, "BAKE_SECONDS_CAP", None, int, 0),
            bake_check_seconds=_number(env, "BAKE_CHECK_SECONDS", 30, int, 1),
            jwt_secret_value=_text(env, "JWT_SECRET"),
            jwt_secret_arn=_text(env, "JWT_SECRET_ARN"),
            jwt_previous_secret_value=_text(env, "JWT_PREVIOUS_SECRET"),
            jwt_issuer=_text(env, "JWT_ISSUER", "multicloud-orchestrator"),
            jwt_audience=_text(env, "JWT_AUDIENCE", "orchestrator-api"),
            token_ttl_seconds=_number(env, "TOKEN_TTL_SECONDS", 3600, int, 60),
            bootstrap_admin_username=_text(env, "BOOTSTRAP_ADMIN_USERNAME"),
            bootstrap_admin_password=_text(env, "BOOTSTRAP_ADMIN_PASSWORD"),
            bootstrap_admin_email=_text(env, "BOOTSTRAP_ADMIN_EMAIL", "admin@example.com"),
            bootstrap_admin_secret_arn=_text(env, "BOOTSTRAP_ADMIN_SECRET_ARN"),
        )
        if settings.db_pool_min_size > settings.db_pool_max_size:
            raise SettingsError("DB_POOL_MIN_SIZE must be <= DB_POOL_MAX_SIZE")
        return settings

    def require_database(self) -> None:
        if not (self.database_url or self.db_secret_arn):
            raise SettingsError("set DATABASE_URL or DB_SECRET_ARN")

    def jwt_secret(self) -> str:
        """The token signing key. Resolved on use, never stored in the settings' repr or logged."""
        return self.jwt_keys()[0]

    def jwt_keys(self) -> tuple[str, str | None]:
        """(the key that signs, the previous key that still verifies during a rotation): JWT_SECRET and
        JWT_PREVIOUS_SECRET, or the secret's "key" and "previous_key"."""
        if self.jwt_secret_value:
            key, previous = self.jwt_secret_value, self.jwt_previous_secret_value
        elif self.jwt_secret_arn:
            from .adapters.aws.secrets import get_secret_json

            secret = get_secret_json(self.jwt_secret_arn, region=self.aws_region,
                                     timeout_seconds=self.aws_timeout_seconds)
            key, previous = str(secret.get("key", "")), secret.get("previous_key") or None
        else:
            raise SettingsError("set JWT_SECRET or JWT_SECRET_ARN")
        if len(key) < 32 or (previous is not None and len(str(previous)) < 32):
            raise SettingsError("the JWT signing keys must be at least 32 characters")
        return key, (str(previous) if previous else None)

    def bootstrap_admin(self) -> BootstrapAdmin | None:
        """The admin to create on a fresh install, if one is configured."""
        if self.bootstrap_admin_secret_arn:
            from .adapters.aws.secrets import get_secret_json

            secret = get_secret_json(self.bootstrap_admin_secret_arn, region=self.aws_region,
                                     timeout_seconds=self.aws_timeout_seconds)
            return BootstrapAdmin(secret["username"], secret["password"], secret.get("email",
                                                                                     self.bootstrap_admin_email))
        if self.bootstrap_admin_username and self.bootstrap_admin_password:
            return BootstrapAdmin(self.bootstrap_admin_username, self.bootstrap_admin_password,
                                  self.bootstrap_admin_email)
        return None

    def redis_password(self) -> str | None:
        if not self.redis_auth_secret_arn:
            return None
        from .adapters.aws.secrets import get_secret_json

        secret = get_secret_json(self.redis_auth_secret_arn, region=self.aws_region,
                                 timeout_seconds=self.aws_timeout_seconds)
        return str(secret.get("password") or "") or None

    def require_redis(self) -> None:
        if not self.redis_url:
            raise SettingsError("set REDIS_URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once (Lambda environments do not change while warm).

    Tests that change the environment call `get_settings.cache_clear()`; derive variants with
    `dataclasses.replace(settings, ...)`.
    """
    return Settings.from_env()
