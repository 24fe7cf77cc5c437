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
    "plan_id": "p1", "step_count": 3, "waves": [["s1", "s3"], ["s2"]],
    "steps": [
        {"step_id": "s1", "wave": 0, "action": "create", "resource_identifier": "aws/us-east-1/network/vpc",
         "changed_paths": [], "estimated_duration_seconds": 90, "monthly_cost": 32.85},
        {"step_id": "s2", "wave": 1, "action": "update", "resource_identifier": "gcp/us-central1/database/db",
         "changed_paths": ["properties.size"], "estimated_duration_seconds": 338, "monthly_cost": 100.68},
        {"step_id": "s3", "wave": 0, "action": "no-op", "resource_identifier": "azure/westeurope/storage/assets",
         "changed_paths": [], "estimated_duration_seconds": 0, "monthly_cost": 2.08},
    ],
    "estimated_total_duration_seconds": 428, "estimated_monthly_cost": 135.61, "risk_assessment": "high",
    "risk_reasons": ["updates 1 database"], "requires_approval": True, "auto_approve_overridden": False,
    "policy": {"violations": [], "warnings": [{"rule_id": "tags.owner", "message": "no owner tag",
                                              "resource_identifier": "aws/us-east-1/network/vpc",
                                              "severity": "warn"}]},
}


def deployment(status: str, results: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "d-1", "name": "web", "status": status, "environment": "staging", "strategy": "rolling",
            "providers": ["aws", "gcp"], "plan": PLAN if status not in {"pending", "planning"} else None,
            "step_results": results or [], "approval": {"required": True}, "progress_percentage": 0.0, **extra}


class FakeClient:
    def __init__(self, states: list[Any]):
        self.states = list(states)
        self.calls: list[tuple] = []

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        self.calls.append(("get", deployment_id))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if isinstance(state, Exception):
            raise state
        return state

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
                         deployment("completed", [ok("s1"), ok("s2")])])
    out = console()
    final = Watcher(client, out, interval=0.01, sleep=lambda s: None).wait("d-1")
    assert final["status"] == "completed"
    text = out.file.getvalue()
    assert text.count("status executing") == 1 and "status completed" in text
    assert text.count("step s1 aws/us-east-1/network/vpc: running") == 1
    assert "step s2 gcp/us-central1/database/db: succeeded" in text
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
    assert not [c for c in client.calls if c[0] != "get"]


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
    for fragment in ("wave 1", "wave 2", "s1", "s2", "running", "attempt 2", "completed", "100% done"):
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


def test_progress_view_counts_finished_work_per_wave():
    view = render.progress_view(deployment("executing", [ok("s1"), ok("s2", "failed", error_message="boom")]))
    out = console()
    out.print(view)
    text = out.file.getvalue()
    assert "wave 1" in text and "1/1 done" in text  # s3 is a no-op: not counted as work
    assert "1/1 failed" in text and "boom" in text


def test_plan_steps_table_has_the_documented_columns():
    out = console()
    out.print(render.plan_steps_table(PLAN))
    text = out.file.getvalue()
    for column in ("step", "wave", "action", "resource", "changed paths", "duration", "cost/month"):
        assert column in text
    assert "properties.size" in text and "5m 38s" in text and "$100.68" in text


def test_durations_and_money():
    assert [render.duration(v) for v in (None, 0.008, 5, 90, 338, 7300)] == ["-", "8ms", "5s", "1m 30s", "5m 38s",
                                                                          "2h 01m"]
    assert render.money(1234.5) == "$1,234.50"


def test_a_big_plan_shows_only_the_steps_worth_a_look():
    steps = [{"step_id": f"s{i}", "wave": 0, "action": "create", "resource_identifier": f"aws/us-east-1/queue/q{i}"}
             for i in range(1, 201)]
    plan = {**PLAN, "steps": steps, "waves": [[s["step_id"] for s in steps]], "step_count": 200}
    results = [ok(f"s{i}") for i in range(1, 150)] + [ok("s150", "running"), ok("s151", "failed", error_message="x")]
    out = console()
    out.print(render.progress_view({**deployment("executing", results), "plan": plan}, max_step_rows=20))
    text = out.file.getvalue()
    assert "150/200 failed" in text and "s150" in text and "s151" in text  # 149 succeeded + 1 failed
    assert "198 more" in text and "  s1 " not in text
    full = console()
    full.print(render.progress_view({**deployment("executing", results), "plan": plan}))
    assert "  s1 " in full.file.getvalue()


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
