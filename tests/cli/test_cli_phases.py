"""Deployment strategies in the CLI: the phase a run is in, a bake's countdown by the local clock (never below 0),
the plan's phases and expected downtime; and deployments from servers that send none of these."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from orchestrator_cli import render
from orchestrator_cli.watch import Watcher

FIXTURES = Path(__file__).parent / "fixtures"
BAKE_ENDS = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)  # the canary fixture's phase_ends_at


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    return {**json.loads((FIXTURES / f"deployment-{name}.json").read_text()), **changes}


def text_of(renderable, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def phase_rows(view: str) -> list[str]:
    """The rows of the plan's list of phases, spaces squeezed (`▶ 2. bake 30s`)."""
    return [" ".join(line.replace("Phases", "").split()) for line in view.splitlines()
            if re.match(r"^(Phases)?\s+(▶\s+)?\d+\. ", line)]


def at(seconds_before_the_end: float):
    return lambda: BAKE_ENDS - timedelta(seconds=seconds_before_the_end)


def test_a_bake_shows_the_seconds_left_by_the_local_clock():
    d = fixture("canary-bake")
    header = text_of(render.deployment_header(d, clock=at(20)))
    assert re.search(r"Phase\s+bake  20s left \(until 12:00:30 UTC\)", header), header
    assert "strategy canary" in header
    assert "bake  4m 05s left" in text_of(render.deployment_header(d, clock=at(245)))
    assert "bake  1s left" in text_of(render.deployment_header(d, clock=at(0.2)))  # rounded up: 0s is the end


@pytest.mark.parametrize("late", [0, 1, 3600])
def test_the_countdown_never_goes_below_zero(late):
    header = text_of(render.deployment_header(fixture("canary-bake"), clock=at(-late)))
    assert "bake  0s left" in header and "-" not in header.split("Phase")[1].splitlines()[0]


def test_the_countdown_is_worked_out_again_at_each_redraw():
    now = [BAKE_ENDS - timedelta(seconds=20)]
    countdown = render.PhaseCountdown(fixture("canary-bake"), clock=lambda: now[0])
    first = text_of(countdown)
    now[0] += timedelta(seconds=1)
    assert "20s left" in first and "19s left" in text_of(countdown)


def test_show_lists_the_plans_phases_and_marks_the_one_running():
    view = text_of(render.deployment_view(fixture("canary-bake"), clock=at(10)))
    assert re.search(r"Strategy\s+canary in 3 phases", view), view
    assert phase_rows(view) == ["1. canary 3 steps", "▶ 2. bake 30s", "3. rest 6 steps"], view


def test_blue_green_phases_name_their_kind_when_the_name_does_not():
    d = fixture("blue-green-switch")
    d["plan"]["phases"][1]["name"] = "point dependents at green"
    d["phase"] = "point dependents at green"
    view = text_of(render.deployment_view(d))
    assert re.search(r"Phase\s+point dependents at green\s*\n", view) and "left" not in view  # no end: no countdown
    assert phase_rows(view) == ["1. green 1 step", "▶ 2. point dependents at green 3 steps (switch)",
                                "3. bake 20s", "4. retire 1 step"], view


def test_recreate_states_the_expected_downtime():
    view = text_of(render.deployment_view(fixture("recreate-awaiting-approval")))
    assert re.search(r"Downtime\s+expected 1m 35s \(recreate destroys, then creates\)", view), view
    assert phase_rows(view) == ["1. destroy 2 steps", "2. create 2 steps"], view
    assert "Phase " not in view and "▶" not in view  # waiting for approval: no phase yet


def test_a_long_rolling_plan_lists_its_first_phases_and_counts_the_rest():
    d = fixture("rolling-batch")
    d["plan"]["phases"] = [{"name": f"batch {i}/400", "kind": "batch", "steps": 25, "bake_seconds": None}
                           for i in range(1, 401)]
    d["phase"] = "batch 2/400"
    view = text_of(render.deployment_view(d))
    assert "Strategy  rolling in 400 phases" in view
    rows = phase_rows(view)
    assert len(rows) == render.PHASES_SHOWN and rows[1] == "▶ 2. batch 2/400 25 steps" and "(batch)" not in view
    assert f"... and {400 - render.PHASES_SHOWN} more phases" in view and "batch 13/400" not in view
    # Further on, the list follows the running batch: two before it, then what comes next.
    d["phase"] = "batch 200/400"
    view = text_of(render.deployment_view(d))
    rows = phase_rows(view)
    assert rows[0] == "198. batch 198/400 25 steps" and rows[2] == "▶ 200. batch 200/400 25 steps", rows
    assert "... 197 earlier phases" in view and f"... and {400 - 197 - render.PHASES_SHOWN} more phases" in view
    d["phase"] = "batch 400/400"
    rows = phase_rows(text_of(render.deployment_view(d)))
    assert len(rows) == render.PHASES_SHOWN and rows[-1] == "▶ 400. batch 400/400 25 steps", rows


def test_a_full_plan_counts_the_steps_a_phase_lists():
    plan = {"step_count": 3, "wave_count": 1, "strategy": "canary",
            "phases": [{"name": "canary", "kind": "canary", "steps": ["s1"], "bake_seconds": None},
                       {"name": "bake", "kind": "bake", "steps": [], "bake_seconds": 300},
                       {"name": "rest", "kind": "rest", "steps": ["s2", "s3"], "bake_seconds": None}]}
    view = text_of(render.plan_summary(plan))
    assert phase_rows(view) == ["1. canary 1 step", "2. bake 5m 00s", "3. rest 2 steps"], view


@pytest.mark.parametrize("name", ["older-server", "minimal"])
def test_deployments_without_strategy_fields_render_as_before(name):
    d = fixture("older-server") if name == "older-server" else {"id": "d-1", "status": "executing",
                                                                "plan": {"step_count": 1}}
    view = text_of(render.deployment_view(d))
    assert "Phase" not in view and "Strategy" not in view and "Downtime" not in view
    assert "Plan" in view and "executing" in view


# -- following a run -------------------------------------------------------------------------------------------------


class Server:
    """GET /deployments/{id} answers the states in turn (the last one for ever); no steps to page."""

    def __init__(self, states: list[dict[str, Any]]):
        self.states = list(states)

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def steps(self, deployment_id: str, **query: Any) -> dict[str, Any]:
        return {"items": [], "next_cursor": None}


def canary_run() -> list[dict[str, Any]]:
    bake = fixture("canary-bake")
    return [fixture("canary-bake", phase="canary", phase_ends_at=None), bake, bake,
            fixture("canary-bake", phase="rest", phase_ends_at=None),
            fixture("canary-bake", phase=None, phase_ends_at=None, status="completed", progress_percentage=100.0)]


def test_the_log_says_each_phase_once_and_how_long_a_bake_has_left():
    out = Console(file=io.StringIO(), width=120, markup=False, highlight=False)
    final = Watcher(Server(canary_run()), out, interval=0.01, sleep=lambda s: None, clock=at(25)).wait("d")
    assert final["status"] == "completed"
    phases = [line.strip() for line in out.file.getvalue().splitlines() if line.strip().startswith("phase ")]
    assert phases == ["phase canary", "phase bake  25s left (until 12:00:30 UTC)", "phase rest"]


def test_the_live_view_shows_the_phase_and_the_countdown_ticks_between_polls():
    now = [BAKE_ENDS - timedelta(seconds=12)]
    out = Console(file=io.StringIO(), force_terminal=True, width=120, markup=False, highlight=False)
    watcher = Watcher(Server(canary_run()), out, interval=0.01, sleep=lambda s: None, clock=lambda: now[0])
    view = watcher.live_view(fixture("canary-bake"))
    first = text_of(view)
    now[0] += timedelta(seconds=2)
    second = text_of(view)  # the same poll's view, drawn again two seconds later
    assert "bake  12s left" in first and "bake  10s left" in second
    assert "executing, bake ..." in first and "▶ 2. bake" in first
    watcher.wait("d")
    assert "completed" in out.file.getvalue()


def test_the_log_of_an_older_server_has_no_phase_lines():
    out = Console(file=io.StringIO(), width=120, markup=False, highlight=False)
    older = fixture("older-server")
    Watcher(Server([older, {**older, "status": "completed"}]), out, interval=0.01, sleep=lambda s: None).wait("d")
    assert "phase" not in out.file.getvalue().lower()


def test_show_prints_strategy_phase_and_phases(cli, monkeypatch):
    d = fixture("canary-bake", phase_ends_at=(datetime.now(UTC) + timedelta(minutes=4)).isoformat())
    monkeypatch.setattr("orchestrator_cli.client.Client.deployment", lambda self, i: d)
    monkeypatch.setattr("orchestrator_cli.client.Client.steps",
                        lambda self, i, **query: {"items": [], "next_cursor": None})
    result = cli("--token", "t", "show", d["id"])
    assert result.code == 0, result.err
    assert "strategy canary" in result.out and re.search(r"Phase\s+bake  (4m 00s|3m 59s) left", result.out)
    assert "Strategy" in result.out and "3. rest" in result.out
    as_json = cli("--token", "t", "--json", "show", d["id"]).json()
    assert as_json["phase"] == "bake" and as_json["plan"]["phases"][1]["bake_seconds"] == 30
