"""Distributed locks with fencing tokens.

A lock only keeps honest holders apart while its TTL runs: a holder that stalls (GC pause, frozen Lambda) past
the TTL still believes it holds the lock after someone else acquired it. Every acquisition therefore returns a
fencing token that increases with each acquisition of the same lock; writes made under the lock carry it and
the store rejects a token older than one it has already seen (see orchestrator.adapters.postgres.fencing).
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(slots=True)
class Lease:
    """One acquisition of a lock. `fence` is what guarded writes must carry."""

    name: str
    owner: str = field(repr=False)  # random per acquisition; proves ownership on release/extend
    fence: int
    ttl_seconds: float
    # Local monotonic time by which the lock has certainly expired in the store (measured from before the
    # acquire request was sent, so it errs early).
    expires_at: float

    def remaining_seconds(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())


@runtime_checkable
class LockManager(Protocol):
    def acquire(self, name: str, *, ttl_seconds: float | None = None, wait_seconds: float = 0.0) -> Lease:
        """Take the lock or raise LockBusy (after waiting up to wait_seconds). LockStoreUnavailable when the
        store cannot be reached."""
        ...

    def release(self, lease: Lease) -> bool:
        """Release if still ours; False when it had already expired (or been taken over)."""
        ...

    def extend(self, lease: Lease, *, ttl_seconds: float | None = None) -> bool:
        """Reset the TTL if still ours (updating lease.expires_at); False when the lease was lost: stop working
        under it, its fence will be rejected once a newer holder writes."""
        ...

    def hold(
        self, name: str, *, ttl_seconds: float | None = None, wait_seconds: float = 0.0
    ) -> AbstractContextManager[Lease]:
        """acquire() ... release() as a context manager."""
        ...


def deployment_lock(deployment_id: object) -> str:
    """Serialises lifecycle changes of one deployment."""
    return f"deployment:{deployment_id}"


def resource_lock(tenant_id: str, resource_identifier: str) -> str:
    """Serialises writes to one cloud resource, whichever deployment makes them."""
    return f"resource:{tenant_id}:{resource_identifier}"
