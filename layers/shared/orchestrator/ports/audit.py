"""Port: the tenant's record of speculative plans (who asked what of which stack, and what the plan came to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PlanAuditEntry:
    """One speculative plan, without its intent: the stack, the counts and figures, who asked and when."""

    id: str
    tenant_id: str
    at: datetime
    actor_id: str
    actor: str
    stack: str
    environment: str
    plan_id: str
    by_action: dict[str, int]
    has_changes: bool
    blocked: bool
    estimated_monthly_cost: float
    risk: str
    correlation_id: str | None


class PlanAuditLog(Protocol):
    def record(self, entry: PlanAuditEntry) -> None:
        """Append the entry (entries are never changed or removed)."""
        ...
