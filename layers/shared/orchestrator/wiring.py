"""The composition root: builds each adapter once per process (Lambda reuses it while warm) from the settings.

Handlers and routers ask here for what they need; nothing else constructs adapters. Adapter modules (and the
use-case and token types they build) are imported inside the builders, so that a function loads them when it first
asks, and one needing only tokens (the authorizer) never loads psycopg, redis or boto3.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .auth.tokens import TokenSettings
    from .ports.notifications import NotificationStore, WebhookSender
    from .ports.tokens import TokenStore
    from .usecases.services import Services

_lock = threading.Lock()


@lru_cache(maxsize=1)
def services() -> Services:
    from .adapters.aws.eventbridge import EventBridgePublisher
    from .adapters.aws.stepfunctions import StepFunctionsWorkflow
    from .adapters.postgres.audit import PgPlanAuditLog
    from .adapters.postgres.inventory import PgInventory, PgResultStore
    from .adapters.postgres.policies import PgPolicyStore
    from .adapters.postgres.pool import get_database
    from .adapters.postgres.repositories import (
        PgDeploymentRepository,
        PgDriftRepository,
        PgStepRepository,
        PgUserRepository,
    )
    from .adapters.redis.attempts import RedisAttemptCounter
    from .adapters.redis.client import get_redis
    from .adapters.redis.locks import get_lock_manager
    from .cloud.simulator import SimulatedProvider
    from .usecases.services import Services

    settings = get_settings()
    db = get_database(settings)
    inventory = PgInventory(db)
    return Services(
        settings=settings,
        deployments=PgDeploymentRepository(db),
        steps=PgStepRepository(db),
        drift=PgDriftRepository(db),
        users=PgUserRepository(db),
        inventory=inventory,
        policies=PgPolicyStore(db),
        provider=SimulatedProvider(inventory, PgResultStore(db)),
        locks=get_lock_manager(settings),
        attempts=RedisAttemptCounter(get_redis(settings), key_prefix=settings.redis_key_prefix),
        workflow=StepFunctionsWorkflow(settings.state_machine_arn or "", region=settings.aws_region,
                                       timeout_seconds=settings.aws_timeout_seconds),
        events=EventBridgePublisher(settings.event_bus_name or "default", region=settings.aws_region,
                                    timeout_seconds=settings.aws_timeout_seconds),
        plan_audit=PgPlanAuditLog(db),
    )


# Keys are read again after this long, so a rotation in the secret reaches warm functions within it.
KEYS_TTL_SECONDS = 300
_keys: tuple[float, TokenSettings] | None = None


def token_settings() -> TokenSettings:
    global _keys
    from .auth.tokens import TokenSettings

    with _lock:
        if _keys is None or time.monotonic() - _keys[0] > KEYS_TTL_SECONDS:
            settings = get_settings()
            key, previous = settings.jwt_keys()
            _keys = (time.monotonic(), TokenSettings(
                secret=key, previous_secret=previous, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                ttl_seconds=settings.token_ttl_seconds))
        return _keys[1]


def _forget_keys() -> None:
    global _keys
    _keys = None


@lru_cache(maxsize=1)
def token_store() -> TokenStore:
    """What the authorizer needs beyond the keys: API tokens and logged-out sessions (PostgreSQL only)."""
    from .adapters.postgres.pool import get_database
    from .adapters.postgres.tokens import PgTokenStore

    return PgTokenStore(get_database(get_settings()))


def notification_store() -> NotificationStore:
    from .adapters.postgres.notifications import PgNotificationStore
    from .adapters.postgres.pool import get_database

    return PgNotificationStore(get_database(get_settings()))


def webhook_sender() -> WebhookSender:
    from .adapters.http.webhooks import UrllibWebhookSender

    settings = get_settings()
    return UrllibWebhookSender(timeout_seconds=settings.webhook_timeout_seconds,
                               allow_loopback=settings.webhook_allow_loopback)


def probes() -> dict[str, Callable[[], None]]:
    """Readiness checks, each bounded by its client's timeouts."""
    from .adapters.postgres.pool import get_database
    from .adapters.redis.client import get_redis

    svc = services()

    def redis_ping() -> None:
        get_redis(svc.settings).ping()

    return {"postgresql": get_database(svc.settings).ping, "redis": redis_ping, "stepfunctions": svc.workflow.ping}


def reset() -> None:
    """Forget every adapter (tests that change the environment; the local cloud after a reconfiguration)."""
    from .adapters.aws.clients import forget_clients
    from .adapters.postgres.pool import close_database
    from .adapters.redis.client import close_redis

    with _lock:
        services.cache_clear()
        _forget_keys()
        token_store.cache_clear()
        get_settings.cache_clear()
        close_database()
        close_redis()
        forget_clients()


__all__ = ["Settings", "notification_store", "probes", "reset", "services", "token_settings", "token_store",
           "webhook_sender"]
