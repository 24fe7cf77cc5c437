"""One ordered scale, low to critical, shared by plan risk and drift findings."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {level: rank for rank, level in enumerate(Severity)}
