"""How often a bake checks health: every `bake_check_seconds`, but never so often that a long bake outgrows the
execution's history (each check costs history events)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from orchestrator.domain.lifecycle import utcnow
from orchestrator.usecases.workflow_tasks import MAX_BAKE_CHECKS, _bake_wait


def svc(check: int) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(bake_check_seconds=check))


def test_a_short_bake_is_checked_every_check_interval_and_never_waits_past_its_end():
    now = utcnow()
    assert _bake_wait(svc(30), now, now + timedelta(seconds=300)) == {"wait_seconds": 30, "done": False}
    assert _bake_wait(svc(30), now - timedelta(seconds=290), now + timedelta(seconds=10))["wait_seconds"] <= 10
    assert _bake_wait(svc(30), now - timedelta(seconds=300), now - timedelta(seconds=1)) == {"wait_seconds": 0,
                                                                                            "done": True}


def test_a_day_long_bake_is_checked_at_most_max_bake_checks_times():
    now = utcnow()
    day = timedelta(days=1)
    wait = _bake_wait(svc(1), now, now + day)["wait_seconds"]
    assert wait == day.total_seconds() // MAX_BAKE_CHECKS
    assert day.total_seconds() / wait * 9 < 5_000  # history events of the whole bake
