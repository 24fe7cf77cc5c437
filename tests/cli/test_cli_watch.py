"""Waiting for a deployment: polling to a terminal state, the approval prompt, the live view (fake client)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from orchestrator_cli import render
from orchestrator_cli.client import ApiError
from orchestrator_cli.watch import WaitTimeout, Watcher

PLAN = {
    "plan_id": "p1", "step_count": 3, "wave_count": 2,
    "estimated_total_duration_seconds": 428, "estimated_monthly_cost": 135.61, "risk_assessment": "high",
    "risk_reasons": ["updates 1 database"], "requires_approval": True, "auto_approve_overridden": False,
    "policy": {"violations": [], "warnings": [{"rule_id": "tags.owner", "message": "no owner tag",
                                              "resource_identifier": "aws/us-east-1/network/vpc",
                                              "severity": "warn"}], "overridable": []},
    "totals": {"warnings": 1}, "truncated": False,
}
STEPS = [
    {"step_id": "s1", "wave": 0, "action": "create", "resource_identifier": "aws/us-east-1/network/vpc",
     "changed_paths": [], "estimated_duration_seconds": 90, "monthly_cost": 32.85},
    {"step_id": "s3", "wave": 0, "action": "no-op", "resource_identifier": "azure/westeurope/storage/assets",
     "changed_paths": [], "estimated_duration_seconds": 0, "monthly_cost": 2.08},
    {"step_id": "s2", "wave": 1, "action": "update", "resource_identifier": "gcp/us-central1/database/db",
     "changed_paths": ["properties.size"], "estimated_duration_seconds": 338, "monthly_cost": 100.68},
]


def counts(results: list[dict[str, Any]], status: str) -> dict[str, Any]:
    """The summary's `steps` for these step results (the others pending; s3 is a no-op)."""
    by_status: dict[str, int] = {}
    states = {s["step_id"]: "pending" for s in STEPS} | {r["step_id"]: r["status"] for r in results}
    for state in states.values():
        by_status[state] = by_status.get(state, 0) + 1
    work = [sid for sid in ("s1", "s2") if states[sid] != "pending"]
    current = next((s["wave"] for s in STEPS if s["action"] != "no-op" and states[s["step_id"]] != "succeeded"),
                   None) if status == "executing" else None
    return {"total": 3, "by_status": by_status, "by_action": {"create": 1, "no-op": 1, "update": 1},
            "applied": sum(1 for sid in work if states[sid] == "succeeded"),
            "rolled_back": sum(1 for r in results if r.get("rolled_back")), "wave_count": 2,
            "current_wave": current}


def deployment(status: str, results: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    planned = status not in {"pending", "planning"}
    return {"id": "d-1", "name": "web", "status": status, "environment": "staging", "strategy": "rolling",
            "providers": ["aws", "gcp"], "plan": PLAN if planned else None,
            "steps": counts(results or [], status) if planned else {"total": 0, "by_status": {}, "by_action": {}},
            "approval": {"required": True}, "progress_percentage": 0.0, "_results": results or [], **extra}


class FakeClient:
    """GET /deployments/{id} answers the states in turn; GET .../steps pages the step results of the last one."""

    def __init__(self, states: list[Any]):
        self.states = list(states)
        self.calls: list[tuple] = []
        self.last: dict[str, Any] = {}

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        self.calls.append(("get", deployment_id))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if isinstance(state, Exception):
            raise state
        self.last = state
        return {k: v for k, v in state.items() if k != "_results"}

    def steps(self, deployment_id: str, *, status: str | None = None, wave: int | None = None,
              limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        self.calls.append(("steps", deployment_id, status, wave, limit))
        results = {r["step_id"]: r for r in self.last.get("_results") or []}
        items = [{**s, "status": "pending", "attempt_number": 0, **results.get(s["step_id"], {})} for s in STEPS]
        items = [i for i in items if (status is None or i["status"] == status) and (wave is None or i["wave"] == wave)]
        return {"items": items[:limit], "next_cursor": None}

    def approve(self, deployment_id: str, comment: str | None) -> dict[str, Any]:
        self.calls.append(("approve", deployment_id, comment))
        return deployment("approved")

    def reject(self, deployment_id: str, reason: str) -> dict[str, Any]:
        self.calls.append(("reject", deployment_id, reason))
        return deployment("rejected")


def console(terminal: bool = False) -> Console:
    return Console(file=io.StringIO(), force_terminal=terminal, width=120, markup=False, highlight=False)


def ok(step_id: str, status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {"step_id": step_id, "status": status, "attempt_number": 1, "duration_seconds": 0.5, **extra}


def test_polls_until_a_terminal_state_and_prints_each_change_once():
    client = FakeClient([deployment("planning"), deployment("executing", [ok("s1", "running")]),
                         deployment("executing", [ok("s1", "running")]),
                         deployment("executing", [ok("s1"), ok("s2", "running")]),
                         deployment("completed", [ok("s1"), ok("s2")])])
    out = console()
    final = Watcher(client, out, interval=0.01, sleep=lambda s: None).wait("d-1")
    assert final["status"] == "completed"
    text = out.file.getvalue()
    assert text.count("status executing") == 1 and "status completed" in text
    assert text.count("step s1 aws/us-east-1/network/vpc: running") == 1
    assert "step s2 gcp/us-central1/database/db: running" in text
    assert text.count("steps: 2 pending, 1 running") == 1 and "steps: 2 succeeded, 1 pending" in text
    # One page of the current wave per poll, never the whole list.
    assert ("steps", "d-1", None, 0, 50) in client.calls and ("steps", "d-1", None, 1, 50) in client.calls
    assert "Plan      3 steps (1 create, 1 no-op, 1 update) in 2 waves" in text
    assert "Risk      high: updates 1 database" in text
    assert "Warning   tags.owner: no owner tag [aws/us-east-1/network/vpc]" in text


def test_non_interactive_waits_through_awaiting_approval_and_says_how_to_approve():
    client = FakeClient([deployment("awaiting_approval"), deployment("awaiting_approval"),
                         deployment("rejected", error_message="rejected by ann: no")])
    out = console()
    final = Watcher(client, out, interval=0.01, sleep=lambda s: None).wait("d-1")
    assert final["status"] == "rejected"
    assert out.file.getvalue().count("orchestrator approve d-1") == 1
    assert not [c for c in client.calls if c[0] not in {"get", "steps"}]  # reads only


@pytest.mark.parametrize(("answer", "call"), [
    (("approve", "looks good"), ("approve", "d-1", "looks good")),
    (("reject", "too costly"), ("reject", "d-1", "too costly")),
])
def test_interactive_prompt_approves_or_rejects(answer, call):
    client = FakeClient([deployment("awaiting_approval"), deployment("completed")])
    asked: list[int] = []

    def ask(c):
        asked.append(1)
        return answer

    Watcher(client, console(terminal=True), interval=0.01, interactive=True, ask=ask,
            sleep=lambda s: None).wait("d-1")
    assert asked == [1] and call in client.calls


def test_skip_asks_only_once_and_keeps_waiting():
    client = FakeClient([deployment("awaiting_approval")] * 3 + [deployment("cancelled")])
    asked: list[int] = []
    final = Watcher(client, console(), interval=0.01, interactive=True,
                    ask=lambda c: asked.append(1) or ("skip", None), sleep=lambda s: None).wait("d-1")
    assert final["status"] == "cancelled" and asked == [1]


def test_live_view_on_a_terminal_shows_waves_steps_and_state():
    results = [ok("s1"), ok("s2", "running", attempt_number=2)]
    client = FakeClient([deployment("executing", results), deployment("completed", [ok("s1"), ok("s2")],
                                                                      progress_percentage=100.0)])
    out = console(terminal=True)
    Watcher(client, out, interval=0.01, sleep=lambda s: None).wait("d-1")
    text = out.file.getvalue()
    assert "\x1b[" in text  # rendered for a terminal
    for fragment in ("wave 2 of 2", "s2", "running", "attempt 2", "completed", "100% done", "2/2"):
        assert fragment in text, fragment


def test_timeout_raises_with_the_last_state():
    client = FakeClient([deployment("executing")])
    with pytest.raises(WaitTimeout) as timed_out:
        Watcher(client, console(), interval=0.01, timeout=0.05).wait("d-1")
    assert timed_out.value.deployment["status"] == "executing"


def test_transient_errors_are_retried_and_others_are_not():
    flaky = FakeClient([ApiError(0, "cannot reach", "unreachable"), ApiError(503, "db down", "dependency"),
                        deployment("completed")])
    assert Watcher(flaky, console(), interval=0.01, sleep=lambda s: None).wait("d-1")["status"] == "completed"
    gone = FakeClient([ApiError(404, "not found", "not_found")])
    with pytest.raises(ApiError):
        Watcher(gone, console(), interval=0.01, sleep=lambda s: None).wait("d-1")


def test_progress_view_counts_the_changes_made_and_shows_the_page_of_steps():
    d = deployment("executing", [ok("s1"), ok("s2", "failed", error_message="boom")])
    client = FakeClient([d])
    client.deployment("d-1")
    out = console()
    out.print(render.progress_view(d, client.steps("d-1")))
    text = out.file.getvalue()
    assert "1/2" in text and "wave 2 of 2" in text  # s3 is a no-op: not counted as work
    assert "1 failed, 1 pending, 1 succeeded" in text and "boom" in text


def test_plan_steps_table_has_the_documented_columns():
    out = console()
    out.print(render.plan_steps_table(STEPS))
    text = out.file.getvalue()
    for column in ("step", "wave", "action", "resource", "changed paths", "duration", "cost/month"):
        assert column in text
    assert "properties.size" in text and "5m 38s" in text and "$100.68" in text


def test_durations_and_money():
    assert [render.duration(v) for v in (None, 0.008, 5, 90, 338, 7300)] == ["-", "8ms", "5s", "1m 30s", "5m 38s",
                                                                          "2h 01m"]
    assert render.money(1234.5) == "$1,234.50"


def test_a_big_page_shows_only_the_steps_worth_a_look():
    steps = [{"step_id": f"s{i}", "wave": 0, "action": "create", "resource_identifier": f"aws/us-east-1/queue/q{i}",
              "status": "succeeded", "attempt_number": 1} for i in range(1, 201)]
    steps[149] = {**steps[149], "status": "running"}
    steps[150] = {**steps[150], "status": "failed", "error_message": "x"}
    d = {**deployment("executing"), "steps": {"total": 10_000, "by_status": {"succeeded": 198, "running": 1,
                                                                           "failed": 1, "pending": 9_800},
                                              "by_action": {"create": 10_000}, "applied": 198, "wave_count": 50,
                                              "current_wave": 0}}
    out = console()
    out.print(render.progress_view(d, {"items": steps, "next_cursor": "c"}, max_step_rows=20))
    text = out.file.getvalue()
    assert "198/10,000" in text and "9,800 pending" in text and "s150" in text and "s151" in text
    assert "198 more" in text and "  s1 " not in text
    full = console()
    full.print(render.progress_view(d, {"items": steps, "next_cursor": "c"}))
    assert "  s1 " in full.file.getvalue()
    hint = render.more_steps({**d, "id": "d-1"}, {"items": steps, "next_cursor": "c"})
    assert hint is not None and str(hint) == "9,800 more steps: orchestrator show d-1 --cursor c (or --all)"


def test_ctrl_c_while_waiting_names_the_deployment_and_exits_130(cli, monkeypatch):
    def interrupt(self, deployment_id, initial=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Watcher, "_loop", interrupt)
    with pytest.raises(KeyboardInterrupt) as stopped:
        Watcher(FakeClient([deployment("executing")]), console()).wait("d-1")
    assert "orchestrator wait d-1" in str(stopped.value)
    monkeypatch.setattr("orchestrator_cli.client.Client.deployment", lambda self, i: deployment("executing"))
    result = cli("--token", "t", "wait", "d-1")
    assert result.code == 130 and "stopped following deployment d-1; it goes on" in result.err


def _screen(output: str) -> list[str]:
    """What a terminal shows after `output`: lines, with cursor-up (ESC[1A), erase-line (ESC[2K) and carriage
    return applied and every other escape sequence dropped."""
    import re

    lines, row = [""], 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", output):
        if token == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif token == "\x1b[1A":
            row = max(0, row - 1)
        elif token == "\x1b[2K":
            lines[row] = ""
        elif token == "\r" or token.startswith("\x1b"):
            continue
        else:
            lines[row] += token
    return lines


def test_after_a_decision_the_live_view_is_redrawn_in_place_without_a_stale_header():
    client = FakeClient([deployment("awaiting_approval"), deployment("completed", [ok("s1"), ok("s2")],
                                                                      progress_percentage=100.0)])
    out = console(terminal=True)
    Watcher(client, out, interval=0.01, interactive=True, ask=lambda c: ("approve", None),
            sleep=lambda s: None).wait("d-1")
    screen = "\n".join(_screen(out.file.getvalue()))
    assert "completed" in screen
    assert "awaiting_approval" not in screen  # the view drawn before the prompt was erased, not left above
    assert screen.count("Deployment  ") == 1
