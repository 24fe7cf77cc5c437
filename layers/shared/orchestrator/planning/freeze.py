"""Change-freeze windows: one-off (start, end) or recurring (a cron expression in an IANA time zone, and a duration).

Cron syntax is croniter's five fields (minute hour day-of-month month day-of-week), evaluated in the window's own
time zone, so "0 18 * * 5" with Europe/Berlin starts at 18:00 Berlin time across daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..domain.catalogue import Environment

CHANGE_FREEZE = "change_freeze"
MAX_DURATION_MINUTES = 14 * 24 * 60


class FreezeWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\w .:@/+-]+$")]
    environments: list[Environment] = Field(default_factory=list, max_length=len(Environment),
                                            description="Where it applies; empty: every environment")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    mode: Literal["block", "queue"] = Field(
        default="block", description="block: a run due inside it fails; queue: it waits for the window to close")
    starts_at: AwareDatetime | None = Field(default=None, description="One-off: ISO 8601 with an offset")
    ends_at: AwareDatetime | None = None
    cron: Annotated[str, StringConstraints(min_length=9, max_length=100)] | None = Field(
        default=None, description="Recurring: five-field cron, in `timezone`")
    duration_minutes: int | None = Field(default=None, ge=1, le=MAX_DURATION_MINUTES)
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="IANA time zone of `cron`, e.g. Europe/Berlin")

    @model_validator(mode="after")
    def _one_kind(self) -> FreezeWindowIn:
        one_off = (self.starts_at, self.ends_at)
        recurring = (self.cron, self.duration_minutes, self.timezone)
        if any(v is not None for v in one_off) and any(v is not None for v in recurring):
            raise ValueError("either starts_at and ends_at, or cron, duration_minutes and timezone; not both")
        if any(v is not None for v in one_off):
            if None in one_off:
                raise ValueError("a one-off window needs both starts_at and ends_at")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
            return self
        if None in recurring:
            raise ValueError("a window needs starts_at and ends_at, or cron, duration_minutes and timezone")
        from croniter import croniter  # only recurring windows need it, and only when one is validated or met

        if len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            raise ValueError(f"cron '{self.cron}' is not a five-field cron expression")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"timezone '{self.timezone}' is not an IANA time zone") from None
        try:  # valid syntax may still never fire ("0 0 31 2 *"): planning must never meet such a window
            croniter(self.cron, datetime.now(zone)).get_prev(datetime)
            croniter(self.cron, datetime.now(zone)).get_next(datetime)
        except Exception:  # noqa: BLE001 - croniter raises several kinds for expressions that never match
            raise ValueError(f"cron '{self.cron}' never fires") from None
        return self


class FreezeWindow(FreezeWindowIn):
    id: str

    def applies_to(self, environment: Environment) -> bool:
        return not self.environments or environment in self.environments

    def active_until(self, now: datetime) -> datetime | None:
        """When the window that covers `now` ends; None when `now` is outside every occurrence."""
        if self.starts_at is not None:
            return self.ends_at if self.starts_at <= now < self.ends_at else None
        from croniter import croniter

        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        # The latest start at or before now; croniter's get_prev excludes an exact match, so step a second ahead.
        start = croniter(self.cron, local + timedelta(seconds=1)).get_prev(datetime)
        end = start + timedelta(minutes=self.duration_minutes)
        return end.astimezone(now.tzinfo) if start <= local < end else None


def freeze_finding(windows: list[FreezeWindow], environment: Environment,
                   now: datetime) -> tuple[FreezeWindow, datetime] | None:
    """The window freezing `environment` at `now` (the one ending last when several do), and when it ends."""
    found = [(w, end) for w in windows if w.applies_to(environment) and (end := w.active_until(now)) is not None]
    return max(found, key=lambda pair: pair[1]) if found else None


def freeze_message(window: FreezeWindow, ends: datetime) -> str:
    return (f"change freeze '{window.name}' ({window.reason}) is in force until {ends.isoformat()}; "
            f"mode {window.mode}")
