"""LockManager on Redis: SET NX PX with a random owner, atomic release/extend and fencing tokens (Lua).

Keys (a hash tag keeps a lock and its counter in one cluster slot, as a script touching both requires):
    <prefix>:lock:{<name>}   owner token, expires after the TTL
    <prefix>:fence:{<name>}  fencing counter

Fencing tokens come from INCR but never fall below the server clock in microseconds. Locks and counters live
in memory only; if Redis loses them (restart, failover without replication, counter expiry) a plain counter
would restart at 1 and every later write would be rejected as stale forever. Seeding from the clock keeps
tokens increasing across such losses, as long as the server clock does not step back.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from orchestrator.domain.errors import LockBusy, LockStoreUnavailable
from orchestrator.ports.locks import Lease
from orchestrator.settings import Settings, get_settings

log = logging.getLogger(__name__)

# KEYS: lock, counter. ARGV: owner, lock ttl ms, counter ttl ms.
# Returns {1, fence} when granted, {0, remaining ttl ms} when someone else holds the lock.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif holder == ARGV[1] then
    -- Our own earlier attempt whose reply was lost (client retry): granted, not busy.
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
    return {0, redis.call('PTTL', KEYS[1])}
end
local fence = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local floor = tonumber(now[1]) * 1000000 + tonumber(now[2])
if fence < floor then
    fence = floor
    -- %d: Lua's default number formatting would write 1.7e+15 and lose digits.
    redis.call('SET', KEYS[2], string.format('%d', fence))
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {1, fence}
"""

# KEYS: lock. ARGV: owner. Returns 1 when released.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: lock. ARGV: owner, ttl ms. Returns 1 when extended.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_COUNTER_MIN_TTL_MS = 24 * 3600 * 1000


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisLockManager:
    """Implements orchestrator.ports.locks.LockManager."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = "orch", default_ttl_seconds: float = 60.0):
        if default_ttl_seconds <= 0:
            raise ValueError("default_ttl_seconds must be positive")
        self._client = client
        self._prefix = key_prefix
        self._default_ttl = default_ttl_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RedisLockManager:
        from orchestrator.adapters.redis.client import get_redis

        settings = settings or get_settings()
        return cls(
            get_redis(settings), key_prefix=settings.redis_key_prefix, default_ttl_seconds=settings.lock_ttl_seconds
        )

    def lock_key(self, name: str) -> str:
        return f"{self._prefix}:lock:{{{name}}}"

    def fence_key(self, name: str) -> str:
        return f"{self._prefix}:fence:{{{name}}}"

    def acquire(self, name: str, *, ttl_seconds: float | None = None, wait_seconds: float = 0.0) -> Lease:
        ttl = self._default_ttl if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            raise ValueError("ttl_seconds must be positive")
        ttl_ms = _milliseconds(ttl)
        counter_ttl_ms = max(_COUNTER_MIN_TTL_MS, 10 * ttl_ms)
        owner = secrets.token_hex(16)
        keys = [self.lock_key(name), self.fence_key(name)]
        deadline = time.monotonic() + max(0.0, wait_seconds)
        pause = 0.01
        while True:
            sent_at = time.monotonic()
            granted, value = self._run(self._acquire, keys, [owner, ttl_ms, counter_ttl_ms])
            if granted:
                return Lease(name=name, owner=owner, fence=int(value), ttl_seconds=ttl, expires_at=sent_at + ttl)
            now = time.monotonic()
            if now >= deadline:
                raise LockBusy(f"lock {name!r} is held by another owner")
            # Sleep with jitter so waiters do not retry in lockstep; never past the deadline, and not much
            # past the holder's remaining TTL when it is short.
            holder_ttl = int(value) / 1000 if int(value) > 0 else pause
            time.sleep(min(deadline - now, random.uniform(0.5, 1.0) * pause, max(holder_ttl, 0.001)))
            pause = min(pause * 2, 0.25)

    def release(self, lease: Lease) -> bool:
        released = bool(self._run(self._release, [self.lock_key(lease.name)], [lease.owner]))
        if not released:
            log.warning("lock %r had expired before release (fence %s)", lease.name, lease.fence)
        return released

    def extend(self, lease: Lease, *, ttl_seconds: float | None = None) -> bool:
        ttl = lease.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            raise ValueError("ttl_seconds must be positive")
        sent_at = time.monotonic()
        extended = bool(self._run(self._extend, [self.lock_key(lease.name)], [lease.owner, _milliseconds(ttl)]))
        if extended:
            lease.ttl_seconds = ttl
            lease.expires_at = sent_at + ttl
        return extended

    @contextmanager
    def hold(self, name: str, *, ttl_seconds: float | None = None, wait_seconds: float = 0.0) -> Iterator[Lease]:
        lease = self.acquire(name, ttl_seconds=ttl_seconds, wait_seconds=wait_seconds)
        try:
            yield lease
        finally:
            try:
                self.release(lease)
            except LockStoreUnavailable:
                # The lock expires by itself; do not hide the block's own outcome behind this.
                log.warning("could not release lock %r: lock store unavailable", name)

    @staticmethod
    def _run(script, keys: list[str], args: list) -> object:
        try:
            return script(keys=keys, args=args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Includes AuthenticationError and BusyLoadingError (a restarting server loading its data).
            raise LockStoreUnavailable(type(exc).__name__) from exc
        except redis.ResponseError as exc:
            # A replica answering during failover; anything else is a bug worth seeing as it is.
            if isinstance(exc, redis.exceptions.ReadOnlyError) or str(exc).startswith(("MASTERDOWN", "CLUSTERDOWN")):
                raise LockStoreUnavailable(type(exc).__name__) from exc
            raise


def get_lock_manager(settings: Settings | None = None) -> RedisLockManager:
    """A lock manager on the process-wide Redis client (cheap: it holds no state of its own)."""
    return RedisLockManager.from_settings(settings)
