"""How the CLI shows things to people: 80 columns, short ids, times in words, waves from 1, what a rollback undid,
the approval's decision, and the exit code of a policy block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from orchestrator_cli import exitcodes, render

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _text(renderable, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(seconds=10), "just now"),
    (timedelta(minutes=3, seconds=10), "3 min ago"),
    (timedelta(hours=5), "5 h ago"),
    (timedelta(days=2), "2 d ago"),
    (timedelta(days=90), "2026-09-02"),
    (-timedelta(days=30), "in 30 d"),
])
def test_times_are_said_in_words(delta, expected):
    assert render.ago((NOW - delta).isoformat(), now=NOW) == expected
    assert render.ago(None) == "-"


def _summary(n: int) -> dict:
    return {"id": f"{n:08x}-1111-2222-3333-444455556666", "name": "a-very-long-stack-name-for-the-web-tier-" * 2,
            "status": "awaiting_approval", "environment": "production", "providers": ["aws", "azure", "gcp"],
            "resource_count": 12, "created_at": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
            "initiated_by": "someone-with-a-long-username"}


def test_the_list_fits_80_columns_with_short_ids_and_ellipses():
    out = _text(render.deployments_table({"items": [_summary(1), _summary(2)], "total": 2}))
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    row = next(line for line in lines if line.startswith("00000001"))
    assert "00000001-" not in row  # 8 characters, nothing cut in the middle
    assert "…" in row and "awaiting_approval" in row and "prod" in row and "3 min ago" in row


def test_wide_adds_full_ids_providers_and_resources():
    out = _text(render.deployments_table({"items": [_summary(1)], "total": 1}, wide=True), width=250)
    assert "00000001-1111-2222-3333-444455556666" in out and "aws,azure,gcp" in out and " 12 " in out


def _deployment(status: str, results: list[dict], **extra) -> dict:
    steps = [{"step_id": r["step_id"], "action": "create", "resource_identifier": f"aws/r/{r['step_id']}",
              "wave": i, **r} for i, r in enumerate(results)]
    counts = {"total": len(steps), "by_status": {}, "by_action": {"create": len(steps)}, "wave_count": len(steps),
              "applied": sum(1 for s in steps if s["status"] == "succeeded" or s.get("rolled_back")),
              "rolled_back": sum(1 for s in steps if s.get("rolled_back")), "current_wave": None}
    for s in steps:
        counts["by_status"][s["status"]] = counts["by_status"].get(s["status"], 0) + 1
    return {"id": "d", "name": "web", "status": status, "progress_percentage": 67.0, "steps": counts,
            "plan": {"step_count": len(steps), "wave_count": len(steps)}, "_page": {"items": steps}, **extra}


def test_waves_are_numbered_from_1_in_the_plan_and_the_progress():
    d = _deployment("executing", [{"step_id": "s1", "status": "succeeded"}, {"step_id": "s2", "status": "running"}],
                    )
    d["steps"]["current_wave"] = 1
    progress = _text(render.progress_view(d, d["_page"]), width=120)
    assert "wave 2 of 2" in progress and "wave 0" not in progress
    assert [line.split()[2] for line in progress.splitlines() if line.split()[0] in {"s1", "s2"}] == ["1", "2"]
    table = _text(render.plan_steps_table(d["_page"]["items"]), width=120)
    rows = [line.split() for line in table.splitlines()]
    assert [row[1] for row in rows if row and row[0] in {"s1", "s2"}] == ["1", "2"]


def test_a_rolled_back_run_says_what_was_undone_not_a_percentage():
    d = _deployment("rolled_back", [{"step_id": "s1", "status": "succeeded", "rolled_back": True},
                                    {"step_id": "s2", "status": "succeeded", "rolled_back": True},
                                    {"step_id": "s3", "status": "failed", "rolled_back": False}])
    header = _text(render.deployment_header(d), width=120)
    assert "undid 2 of 2 applied steps" in header and "%" not in header


def test_lists_the_server_cut_end_with_how_many_more():
    plan = {"step_count": 10_000, "wave_count": 3, "policy": {"violations": [
        {"rule_id": "r", "message": "m", "resource_identifier": f"aws/r/{i}"} for i in range(20)]},
        "policy_results": [{"policy": "tags", "enforcement": "advisory", "result": "advisory",
                            "resources": ["a", "b", "c", "d"], "resource_count": 9000}],
        "totals": {"violations": 9000, "policy_results": 1}}
    text = _text(render.plan_summary(plan, {"by_action": {"create": 10_000}}), width=120)
    assert "10000 steps (10000 create) in 3 waves" in text
    assert "... and 8980 more violations" in text and "(a, b, c and 8997 more)" in text


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_the_approval_says_the_decision(decision):
    d = _deployment("completed", [], approval={"required": True, "decided_by": "alice", "decision": decision,
                                               "decided_at": datetime.now(UTC).isoformat(), "comment": "ok"})
    assert f"{decision} by alice just now: ok" in _text(render.deployment_header(d), width=120)


def test_a_policy_block_has_its_own_exit_code():
    assert exitcodes.for_deployment({"status": "failed", "plan": {"blocked": True}}) == exitcodes.POLICY_BLOCKED
    assert exitcodes.for_deployment({"status": "failed", "plan": {"blocked": False}}) == exitcodes.FAILED
    assert exitcodes.for_deployment({"status": "failed", "plan": None}) == exitcodes.FAILED
    assert exitcodes.POLICY_BLOCKED not in {exitcodes.FAILED, exitcodes.INVALID}


def test_an_ambiguous_prefix_names_the_candidates():
    from orchestrator_cli.main import MissingLocally, UsageError, _unique

    ids = ["abcd1111-0000", "abcd2222-0000", "ef000000-0000"]
    assert _unique("ABCD1", ids, "deployment") == "abcd1111-0000"
    with pytest.raises(UsageError, match="'abcd' matches 2 deployments .*give more characters"):
        _unique("abcd", ids, "deployment")
    with pytest.raises(MissingLocally):
        _unique("0000", ids, "deployment")


def _step(sid: str, action: str, identifier: str, **extra) -> dict:
    return {"step_id": sid, "action": action, "resource_identifier": identifier, **extra}


def test_a_speculative_plan_reads_like_terraform_plan_with_each_resources_mark():
    plan = {"steps": [
        _step("s1", "create", "aws/us-east-1/network/net"),
        _step("s2", "update", "aws/us-east-1/database/db", changed_paths=["properties.password", "properties.size",
                                                                          "tags.owner", "tags.team"],
              changes=[{"path": "properties.password", "old": "(sensitive)", "new": "(sensitive)"},
                       {"path": "properties.size", "old": "small", "new": "large"},
                       {"path": "tags.owner", "old": None, "new": "ops"},
                       {"path": "tags.team", "old": "web", "new": None}]),
        _step("s3", "no-op", "aws/us-east-1/queue/jobs"), _step("s4", "no-op", "aws/us-east-1/queue/mail"),
        _step("s5", "green", "aws/us-east-1/compute/app"), _step("s6", "switch", "aws/us-east-1/compute/app"),
        _step("s7", "destroy", "aws/us-east-1/storage/old"),
        _step("s8", "destroy", "aws/us-east-1/cache/c"), _step("s9", "create", "aws/us-east-1/cache/c"),
    ], "waves": [["s1"], ["s2"]], "estimated_monthly_cost": 12.5, "risk_assessment": "medium",
        "risk_reasons": ["destroys a resource"], "requires_approval": True,
        "policy": {"warnings": [{"rule_id": "tags", "message": "needs a cost centre"}]},
        "phases": [{"name": "canary", "steps": ["s5"], "bake_seconds": 300}, {"name": "rest", "steps": ["s6"]}],
        "expected_downtime_seconds": 0}
    text = _text(render.speculative_plan(plan), width=120)
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[:10] == [
        "The intent would change these resources:",
        "  + aws/us-east-1/network/net",
        "  ~ aws/us-east-1/database/db",
        "      ~ properties.password: (sensitive) -> (sensitive)",
        '      ~ properties.size: "small" -> "large"',
        '      + tags.owner: null -> "ops"',
        '      - tags.team: "web" -> null',
        "  -/+ aws/us-east-1/compute/app  (green, switch)",
        "  - aws/us-east-1/storage/old",
        "  -/+ aws/us-east-1/cache/c  (destroy, create)",
    ]
    assert "2 unchanged resources not shown." in lines
    assert "Plan: 1 to add, 1 to change, 1 to destroy, 2 to replace." in lines
    assert "$12.50/month" in text and "medium: destroys a resource" in text and "tags: needs a cost centre" in text
    assert "1. canary: 1 step, then bakes 5m 00s" in text and "2. rest: 1 step" in text
    assert "expected 0s" in text


def test_a_plan_without_changes_says_so_and_counts_nothing():
    plan = {"steps": [_step("s1", "no-op", "aws/us-east-1/network/net")], "waves": [["s1"]]}
    text = _text(render.speculative_plan(plan))
    assert "No changes: the live resources already match the intent." in text
    assert "1 unchanged resource not shown." in text
    assert "Plan: 0 to add, 0 to change, 0 to destroy, 0 to replace." in text
    assert "Phase" not in text and "Downtime" not in text
