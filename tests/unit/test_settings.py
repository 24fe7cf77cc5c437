from pathlib import Path

import pytest

from orchestrator.settings import Settings, SettingsError


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.lock_ttl_seconds == 60.0
    assert settings.redis_key_prefix == "orch"
    assert settings.db_pool_min_size <= settings.db_pool_max_size
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        settings.require_database()
    with pytest.raises(SettingsError, match="REDIS_URL"):
        settings.require_redis()


def test_values_are_read_and_converted():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://app:pw@db:5432/app",
            "REDIS_URL": "redis://cache:6379/0",
            "LOCK_TTL_SECONDS": "12.5",
            "DB_STATEMENT_TIMEOUT_MS": "2500",
            "DB_POOL_MAX_SIZE": "2",
            "REDIS_KEY_PREFIX": "orch-dev",
            "ORCH_MIGRATIONS_DIR": "/opt/migrations",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.lock_ttl_seconds == 12.5
    assert settings.db_statement_timeout_ms == 2500
    assert settings.db_pool_max_size == 2
    assert settings.redis_key_prefix == "orch-dev"
    assert settings.migrations_dir == Path("/opt/migrations")
    assert settings.aws_region == "eu-west-1"
    settings.require_database()
    settings.require_redis()


def test_secret_arn_is_enough_for_the_database():
    Settings.from_env({"DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:db"}).require_database()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOCK_TTL_SECONDS", "soon", "LOCK_TTL_SECONDS must be a float"),
        ("DB_STATEMENT_TIMEOUT_MS", "0", "DB_STATEMENT_TIMEOUT_MS must be >= 1"),
        ("DB_POOL_MIN_SIZE", "9", "DB_POOL_MIN_SIZE must be <= DB_POOL_MAX_SIZE"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({variable: value})


def test_urls_stay_out_of_repr():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://app:hunter2@db/app", "REDIS_URL": "redis://:pw@c/0"})
    assert "hunter2" not in repr(settings) and ":pw@" not in repr(settings)
