"""Redis clients with bounded timeouts and a single quick retry, one per process."""

from __future__ import annotations

import os
import threading

import redis
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry

from orchestrator.settings import Settings, get_settings


def create_redis(
    url: str,
    *,
    socket_timeout_seconds: float = 2.0,
    connect_timeout_seconds: float = 2.0,
    client_name: str | None = "orchestrator",
    password: str | None = None,
) -> redis.Redis:
    """A client whose every call is bounded by the socket timeouts.

    One retry covers a pooled connection that went stale (server restart, failover); more would only delay the
    LockStoreUnavailable a caller needs to see, and Step Functions retries the whole task anyway.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_seconds,
        socket_connect_timeout=connect_timeout_seconds,
        socket_keepalive=True,
        retry=Retry(EqualJitterBackoff(cap=0.25, base=0.05), retries=1),
        health_check_interval=30,
        client_name=client_name,
        password=password,
    )


_lock = threading.Lock()
_client: redis.Redis | None = None
_client_pid: int | None = None


def get_redis(settings: Settings | None = None) -> redis.Redis:
    """The process-wide client (connections are pooled inside it), created on first use."""
    global _client, _client_pid
    with _lock:
        if _client is None or _client_pid != os.getpid():
            # After fork the parent's sockets must not be shared: start a fresh pool (redis-py also checks).
            settings = settings or get_settings()
            settings.require_redis()
            _client = create_redis(
                settings.redis_url,
                socket_timeout_seconds=settings.redis_socket_timeout_seconds,
                connect_timeout_seconds=settings.redis_connect_timeout_seconds,
                client_name=settings.service_name,
                password=settings.redis_password(),
            )
            _client_pid = os.getpid()
        return _client


def close_redis() -> None:
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()
