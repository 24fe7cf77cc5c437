"""Port: counting attempts in a time window (failed logins). Adapter: Redis."""

from __future__ import annotations

from typing import Protocol


class AttemptCounter(Protocol):
    def count(self, key: str) -> int: ...

    def hit(self, key: str, *, window_seconds: int) -> int:
        """Count one attempt; the window starts with the first attempt. Returns the count."""
        ...

    def reset(self, key: str) -> None: ...
