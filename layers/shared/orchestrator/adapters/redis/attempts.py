"""Redis adapter of the AttemptCounter port: a counter per key that expires with its window."""

from __future__ import annotations

import redis

from orchestrator.domain.errors import LockStoreUnavailable


class RedisAttemptCounter:
    def __init__(self, client: redis.Redis, *, key_prefix: str = "orch"):
        self._redis, self._prefix = client, key_prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:attempts:{key}"

    def count(self, key: str) -> int:
        try:
            return int(self._redis.get(self._key(key)) or 0)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LockStoreUnavailable(type(exc).__name__) from exc

    def hit(self, key: str, *, window_seconds: int) -> int:
        name = self._key(key)
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)  # the window starts with the first attempt
                count, _ = pipe.execute()
            return int(count)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LockStoreUnavailable(type(exc).__name__) from exc

    def reset(self, key: str) -> None:
        try:
            self._redis.delete(self._key(key))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LockStoreUnavailable(type(exc).__name__) from exc
