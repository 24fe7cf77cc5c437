"""AWS Secrets Manager: fetch JSON secrets with a timeout and a short in-process cache.

Secret values are never logged or put in exception messages. The cache keeps warm Lambdas from calling
Secrets Manager on every new database connection, and its expiry lets a rotated password be picked up.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from orchestrator.domain.errors import DependencyUnavailable

from .clients import client

_DEPENDENCY = "secretsmanager"
_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def get_secret_json(
    secret_id: str,
    *,
    region: str | None = None,
    timeout_seconds: float = 3.0,
    max_age_seconds: float = 300.0,
) -> dict[str, Any]:
    """The secret's SecretString parsed as a JSON object, cached for max_age_seconds.

    Raises DependencyUnavailable("secretsmanager") when the secret cannot be fetched or is not a JSON object.
    """
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_id)
    if cached is not None and cached[0] > now:
        return cached[1]

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client("secretsmanager", region=region, timeout_seconds=timeout_seconds).get_secret_value(
            SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise DependencyUnavailable(_DEPENDENCY, f"GetSecretValue failed: {code}") from None
    except BotoCoreError as exc:
        raise DependencyUnavailable(_DEPENDENCY, f"GetSecretValue failed: {type(exc).__name__}") from None
    try:
        value = json.loads(response["SecretString"])
    except (KeyError, TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        # `from None`: the decode error's message would quote part of the secret.
        raise DependencyUnavailable(_DEPENDENCY, "secret is not a JSON object in SecretString") from None
    with _lock:
        _cache[secret_id] = (now + max_age_seconds, value)
    return value


def invalidate(secret_id: str | None = None) -> None:
    """Forget a cached secret (all when None), e.g. after the database rejected its password."""
    with _lock:
        if secret_id is None:
            _cache.clear()
        else:
            _cache.pop(secret_id, None)


def database_params(secret_id: str, **options: Any) -> dict[str, Any]:
    """psycopg connection parameters from an RDS-format secret (username, password, host, port, dbname)."""
    secret = get_secret_json(secret_id, **options)
    mapping = {"username": "user", "password": "password", "host": "host", "port": "port", "dbname": "dbname"}
    params = {target: secret[source] for source, target in mapping.items() if secret.get(source) not in (None, "")}
    if "user" not in params or "password" not in params:
        raise DependencyUnavailable(_DEPENDENCY, "database secret lacks username or password")
    if "port" in params:
        params["port"] = str(params["port"])
    return params
