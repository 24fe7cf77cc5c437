"""Port: a tenant's policy set and change-freeze windows. Adapter: `adapters/postgres/policies.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..planning.freeze import FreezeWindow, FreezeWindowIn
from ..planning.policies import PolicyIn, TenantPolicy


class PolicyStore(Protocol):
    def policies(self, tenant_id: str, defaults: Sequence[PolicyIn] = ()) -> list[TenantPolicy]:
        """By name. The first read of a tenant writes `defaults` into its set (only ever once)."""
        ...

    def add_policy(self, tenant_id: str, policy: PolicyIn, actor: str) -> TenantPolicy:
        """`ConcurrencyConflict` when the tenant already has a policy of that name."""
        ...

    def replace_policy(self, tenant_id: str, policy_id: str, policy: PolicyIn) -> TenantPolicy | None: ...

    def delete_policy(self, tenant_id: str, policy_id: str) -> bool: ...

    def freeze_windows(self, tenant_id: str) -> list[FreezeWindow]: ...

    def add_freeze_window(self, tenant_id: str, window: FreezeWindowIn, actor: str) -> FreezeWindow: ...

    def delete_freeze_window(self, tenant_id: str, window_id: str) -> bool: ...
