"""Rich renderables for the API's JSON: deployments, plans, progress, events, drift reports, field errors.

Every function takes the API's JSON as it is and tolerates missing keys, so a newer server does not break it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "pending": "dim", "planning": "cyan", "planned": "cyan", "awaiting_approval": "bold yellow",
    "approved": "green", "executing": "bold blue", "verifying": "bold blue", "completed": "bold green",
    "failed": "bold red", "rolling_back": "bold magenta", "rolled_back": "magenta", "cancelled": "yellow",
    "rejected": "red",
}
STEP_STYLES = {
    "pending": "dim", "queued": "dim", "acquired": "cyan", "running": "bold blue", "retrying": "yellow",
    "succeeded": "green", "failed": "bold red", "cancelled": "yellow", "timed_out": "red",
}
RISK_STYLES = {"low": "green", "medium": "yellow", "high": "bold red", "critical": "bold white on red"}
RESULT_STYLES = {"passed": "green", "advisory": "yellow", "soft_blocked": "magenta", "blocked": "bold red"}
NAMED = 3
SEVERITY_STYLES = {"low": "dim", "medium": "yellow", "high": "bold red", "critical": "bold white on red"}
STEP_DONE = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
NO_OP = "no-op"
PHASES_SHOWN = 12  # a rolling plan of thousands of resources has hundreds of batches; the rest are counted
ENVIRONMENT_SHORT = {"development": "dev", "staging": "staging", "production": "prod"}


def status_text(status: str | None) -> Text:
    status = status or "?"
    return Text(status, style=STATUS_STYLES.get(status, ""))


def duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds % 1 else f"{int(seconds)}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_time(at: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def seconds_left(ends_at: datetime, now: datetime | None = None) -> int:
    """Whole seconds until `ends_at` by the local clock, rounded up and never below 0 (a bake that ran over, or a
    clock ahead of the server's, reads 0s)."""
    return max(0, math.ceil((ends_at - (now or _utc_now())).total_seconds()))


def ago(at: str | None, now: datetime | None = None) -> str:
    """An API time as people say it: `just now`, `3 min ago`, `5 h ago`, `2 d ago`, then the date; `-` if none.
    (--json prints the API's ISO times unchanged.)"""
    if not at:
        return "-"
    when = _parse_time(at)
    if when is None:
        return str(at)
    seconds = ((now or _utc_now()) - when).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size or unit == "min":
            count = max(1, round(seconds / size))
            if unit == "d" and count > 30:
                return when.strftime("%Y-%m-%d")
            return f"in {count} {unit}" if future else f"{count} {unit} ago"
    return str(at)  # not reached


def phase_text(d: dict[str, Any], now: datetime | None = None) -> Text | None:
    """The phase a running deployment is in (`canary`, `batch 2/5`), with the seconds left while it bakes; None
    when idle or from a server that sends no phase."""
    phase = d.get("phase")
    if not phase:
        return None
    text = Text(str(phase), style="bold cyan")
    ends = _parse_time(d["phase_ends_at"]) if d.get("phase_ends_at") else None
    if ends is not None:
        text.append(f"  {duration(seconds_left(ends, now))} left", style="bold")
        text.append(f" (until {ends.astimezone(UTC):%H:%M:%S} UTC)", style="dim")
    return text


class PhaseCountdown:
    """The phase line, worked out again each time it is drawn: a live view redraws several times a second, so a
    bake's countdown ticks by the local clock between two polls of the server."""

    def __init__(self, d: dict[str, Any], clock: Callable[[], datetime] = _utc_now):
        self.d, self.clock = d, clock

    def __rich__(self) -> Text:
        return phase_text(self.d, self.clock()) or Text("-")


def short_id(value: Any) -> str:
    """The first 8 characters of an id: unique enough to show, and any unique prefix is accepted back."""
    return str(value)[:8]


def money(value: float | int | None) -> str:
    return "-" if value is None else f"${float(value):,.2f}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _kv_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    return table


# -- deployments ----------------------------------------------------------------------------------------------------


def deployment_header(d: dict[str, Any], clock: Callable[[], datetime] = _utc_now) -> RenderableType:
    table = _kv_table()
    table.add_row("Deployment", Text(f"{d.get('name', '?')}  ({d.get('id', '?')})"))
    line = Text.assemble(status_text(d.get("status")))
    undo = undo_summary(d)
    if undo:
        line.append(f"   {undo}")
    elif d.get("progress_percentage") is not None:
        line.append(f"   {float(d['progress_percentage']):.0f}% done")
    table.add_row("Status", line)
    table.add_row("Environment", f"{d.get('environment', '?')}   strategy {d.get('strategy', '?')}   "
                                 f"providers {', '.join(d.get('providers') or []) or '-'}")
    if d.get("phase"):
        table.add_row("Phase", PhaseCountdown(d, clock))
    table.add_row("Initiated by", f"{d.get('initiated_by', '?')}   {ago(d.get('created_at'))}")
    approval = d.get("approval") or {}
    if approval.get("decided_by"):
        decision = approval.get("decision") or "decided"
        table.add_row("Approval", Text(f"{decision} by {approval['decided_by']} {ago(approval.get('decided_at'))}"
                                       + (f": {approval['comment']}" if approval.get("comment") else ""),
                                       style="red" if decision == "rejected" else "green"))
    elif approval.get("required"):
        table.add_row("Approval", f"required, requested {ago(approval.get('requested_at'))}")
    if d.get("error_message"):
        table.add_row("Error", Text(d["error_message"], style="red"))
    return table


def undo_summary(d: dict[str, Any]) -> str | None:
    """What a rollback undid (`undid 2 of 3 applied steps`) instead of a progress percentage, for runs that are
    rolling back or rolled back."""
    if d.get("status") not in {"rolling_back", "rolled_back"}:
        return None
    counts = d.get("steps") or {}
    applied, undone = counts.get("applied") or 0, counts.get("rolled_back") or 0
    if not applied:
        return "nothing had been applied: nothing to undo"
    return f"undid {undone} of {plural(applied, 'applied step')}"


def _more(shown: int, total: int | None, noun: str) -> Text | None:
    """The line a summary list cut by the server ends with."""
    if total is None or total <= shown:
        return None
    return Text(f"... and {total - shown} more {noun}", style="dim")


def _phase_steps(phase: dict[str, Any]) -> int | None:
    """A phase's step count: a number in the deployment's summary, the list of its steps in a full plan."""
    steps = phase.get("steps")
    if isinstance(steps, list):
        return len(steps)
    return steps if isinstance(steps, int) else None


def phases_window(phases: list[dict[str, Any]], current: str | None) -> tuple[int, int]:
    """The slice of `phases` worth listing: all of them if few, else PHASES_SHOWN from two before the running one
    (batch 200 of 400 is in view, not only the first dozen)."""
    if len(phases) <= PHASES_SHOWN:
        return 0, len(phases)
    index = next((i for i, phase in enumerate(phases) if current is not None and phase.get("name") == current), 0)
    start = max(0, min(index - 2, len(phases) - PHASES_SHOWN))
    return start, start + PHASES_SHOWN


def phases_table(phases: list[dict[str, Any]], current: str | None = None) -> Table:
    """One row per phase of the plan (name, what it does), the one running now marked."""
    table = Table.grid(padding=(0, 1))
    for name in ("mark", "number", "name", "detail"):
        table.add_column(name, no_wrap=name != "detail", justify="right" if name == "number" else "left")
    start, end = phases_window(phases, current)
    if start:
        table.add_row("", "", Text(f"... {plural(start, 'earlier phase')}", style="dim"), "")
    for number, phase in enumerate(phases[start:end], start=start + 1):
        name, kind = str(phase.get("name") or phase.get("kind") or "?"), phase.get("kind")
        details = []
        steps = _phase_steps(phase)
        if steps is not None and (steps or kind != "bake"):
            details.append(plural(steps, "step"))
        if phase.get("bake_seconds") is not None:
            details.append(("" if kind == "bake" else "bake ") + duration(phase["bake_seconds"]))
        if kind and not name.startswith(str(kind)):
            details.append(f"({kind})")
        now = current is not None and name == current
        table.add_row(Text("▶" if now else " ", style="bold cyan"), f"{number}.",
                      Text(name, style="bold cyan" if now else ""), Text("  ".join(details), style="dim"))
    if len(phases) > end:
        table.add_row("", "", Text(f"... and {len(phases) - end} more phases", style="dim"), "")
    return table


def plan_summary(plan: dict[str, Any], counts: dict[str, Any] | None = None,
                 current_phase: str | None = None) -> RenderableType:
    """The plan's figures. `counts` is the deployment's `steps` (counts by action and status); `current_phase` the
    deployment's `phase`, marked in the list of phases."""
    by_action = (counts or {}).get("by_action") or {}
    totals = plan.get("totals") or {}
    table = _kv_table()
    actions = ", ".join(f"{n} {action}" for action, n in sorted(by_action.items()))
    table.add_row("Plan", f"{plural(plan.get('step_count', 0), 'step')} ({actions or 'none'}) in "
                          f"{plural(plan.get('wave_count', 0), 'wave')}")
    table.add_row("Estimate", f"{duration(plan.get('estimated_total_duration_seconds'))}   "
                              f"{money(plan.get('estimated_monthly_cost'))}/month")
    risk = str(plan.get("risk_assessment") or "?")
    risk_line = Text(risk, style=RISK_STYLES.get(risk, ""))
    reasons = plan.get("risk_reasons") or []
    if reasons:
        risk_line.append(": " + "; ".join(str(r) for r in reasons))
    table.add_row("Risk", risk_line)
    approval = "required" if plan.get("requires_approval") else "not required"
    if plan.get("auto_approve_overridden"):
        approval += " (auto_approve overridden by policy)"
    table.add_row("Approval", approval)
    phases = plan.get("phases") or []
    if plan.get("strategy") or phases:
        table.add_row("Strategy", f"{plan.get('strategy') or '?'}"
                                  + (f" in {plural(len(phases), 'phase')}" if phases else ""))
    if phases:
        table.add_row("Phases", phases_table(phases, current_phase))
    if plan.get("expected_downtime_seconds") is not None:
        table.add_row("Downtime", Text(f"expected {duration(plan['expected_downtime_seconds'])} (recreate destroys, "
                                       "then creates)", style="yellow"))
    policy = plan.get("policy") or {}
    results = plan.get("policy_results") or []
    for result in results:
        style = RESULT_STYLES.get(result.get("result"), "")
        named = (result.get("resources") or [])[:NAMED]
        count = result.get("resource_count", len(result.get("resources") or []))
        hit = f" ({', '.join(named)}{f' and {count - len(named)} more' if count > len(named) else ''})" \
            if named else ""
        table.add_row("Policy", Text(f"{result.get('policy')} [{result.get('enforcement')}]: "
                                     f"{result.get('result')}{hit}", style=style))
    more = _more(len(results), totals.get("policy_results"), "policies")
    if more:
        table.add_row("", more)
    blast = plan.get("blast_radius") or []
    for entry in blast:
        entry_counts = entry.get("counts") or {}
        spread = ", ".join(f"{k} {v}" for group in ("by_provider", "by_environment")
                           for k, v in (entry_counts.get(group) or {}).items())
        table.add_row("Blast", f"{entry.get('action')} {entry.get('resource')}: "
                               f"{plural(entry_counts.get('total', 0), 'dependent')} ({spread})")
    more = _more(len(blast), totals.get("blast_radius"), "resources with dependents")
    if more:
        table.add_row("", more)
    for kind, style in (("violations", "bold red"), ("overridable", "magenta"), ("warnings", "yellow")):
        findings = policy.get(kind) or []
        for finding in findings:
            where = f" [{finding['resource_identifier']}]" if finding.get("resource_identifier") else ""
            table.add_row(kind[:-1].capitalize(),
                          Text(f"{finding.get('rule_id', '?')}: {finding.get('message', '')}{where}", style=style))
        more = _more(len(findings), totals.get(kind), kind)
        if more:
            table.add_row("", more)
    return table


def policies_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Policies", title_justify="left")
    for name in ("name", "enforcement", "environments", "rule", "id"):
        table.add_column(name)
    for p in items:
        table.add_row(p["name"], p["enforcement"], ", ".join(p["environments"]) or "all",
                      _short(json.dumps(p["rule"]), 60), p["id"])
    return table


def freeze_windows_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Freeze windows", title_justify="left")
    for name in ("name", "mode", "environments", "when", "reason", "id"):
        table.add_column(name)
    for w in items:
        when = (f"{w['starts_at']} to {w['ends_at']}" if w.get("starts_at")
                else f"{w['cron']} for {w['duration_minutes']} min ({w['timezone']})")
        table.add_row(w["name"], w["mode"], ", ".join(w["environments"]) or "all", when, w["reason"], w["id"])
    return table


def plan_steps_table(steps: list[dict[str, Any]]) -> Table:
    """A page of GET /deployments/{id}/steps as the plan shows it."""
    table = Table(box=box.SIMPLE_HEAD, title="Plan steps", title_justify="left")
    for name, justify in (("step", "left"), ("wave", "right"), ("action", "left"), ("resource", "left"),
                          ("changed paths", "left"), ("duration", "right"), ("cost/month", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for step in steps:
        table.add_row(str(step.get("step_id", "?")), wave_number(step.get("wave")), str(step.get("action", "?")),
                      str(step.get("resource_identifier", "?")), ", ".join(step.get("changed_paths") or []) or "-",
                      duration(step.get("estimated_duration_seconds")), money(step.get("monthly_cost")))
    return table


def wave_number(index: Any) -> str:
    """Waves are numbered from 1 for people (the API's `wave` is a 0-based index), as in the console."""
    return str(index + 1) if isinstance(index, int) else "?"


def step_state(step: dict[str, Any]) -> str:
    if step.get("action") == NO_OP:
        return NO_OP
    return str(step.get("status") or "pending")


QUIET_STATES = frozenset({"pending", "succeeded", NO_OP})


def status_counts(counts: dict[str, Any]) -> str:
    """`1,200 succeeded, 3 running, 797 pending`, busiest states first."""
    by_status = counts.get("by_status") or {}
    order = sorted(by_status.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n:,} {status}" for status, n in order) or "no steps"


def progress_view(d: dict[str, Any], page: dict[str, Any] | None = None, *,
                  max_step_rows: int | None = None) -> RenderableType:
    """The run as a bar (changes made / changes planned) with the counts by status, then a row per step of `page`
    (a page of GET /deployments/{id}/steps, e.g. the current wave's).

    With `max_step_rows`, only steps worth a look (running, retrying, failed) get a row past that many; the rest are
    counted, so the view fits a terminal and redraws fast whatever the deployment's size."""
    counts = d.get("steps") or {}
    work = sum(n for action, n in (counts.get("by_action") or {}).items() if action != NO_OP)
    done = counts.get("applied") or 0
    table = Table.grid(padding=(0, 1))
    for column in ("label", "bar", "count", "status", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    by_status = counts.get("by_status") or {}
    failed = any(by_status.get(s) for s in ("failed", "timed_out"))
    active = any(by_status.get(s) for s in ("running", "retrying", "acquired", "queued"))
    running_overall = d.get("status") in {"executing", "verifying", "rolling_back"}
    style = "red" if failed else ("green" if work and done >= work else "blue")
    bar = ProgressBar(total=max(work, 1), completed=done if work else 1, width=24,
                      pulse=active and running_overall and done == 0, complete_style=style, finished_style=style)
    current = counts.get("current_wave")
    where = f"wave {wave_number(current)} of {counts.get('wave_count', '?')}" if current is not None else \
        plural(counts.get("wave_count") or 0, "wave")
    table.add_row(Text("steps", style="bold"), bar, f"{done:,}/{work:,}", Text(where, style=style),
                  Text(status_counts(counts), style="dim"))
    items = (page or {}).get("items") or []
    hidden = 0
    for step in items:
        state = step_state(step)
        if (max_step_rows is not None and len(items) > max_step_rows and state in QUIET_STATES
                and not step.get("error_message")):
            hidden += 1
            continue
        finished = state in STEP_DONE or state == NO_OP
        step_style = STEP_STYLES.get(state, "dim")
        step_bar = ProgressBar(total=1, completed=1 if finished else 0, width=24,
                               pulse=state in {"running", "retrying", "acquired"},
                               complete_style="red" if state in {"failed", "timed_out"} else "green",
                               finished_style="red" if state in {"failed", "timed_out"} else "green")
        detail = f"{step.get('action', '?')} {step.get('resource_identifier', step.get('step_id'))}"
        if (step.get("attempt_number") or 1) > 1:
            detail += f"  attempt {step['attempt_number']}"
        if step.get("duration_seconds") is not None:
            detail += f"  {duration(step['duration_seconds'])}"
        if step.get("rolled_back"):
            detail += "  (rolled back)"
        if step.get("error_message"):
            detail += f"  {step['error_message']}"
        table.add_row(Text(f"  {step.get('step_id')}"), step_bar, wave_number(step.get("wave")),
                      Text(state, style=step_style), detail)
    if hidden:
        table.add_row("", "", "", Text(f"{hidden} more", style="dim"), Text("pending, succeeded or no-op",
                                                                              style="dim"))
    return table


def more_steps(d: dict[str, Any], page: dict[str, Any], *, status: str | None = None, wave: int | None = None,
               first: bool = True, command: str = "show") -> Text | None:
    """How to read on past a page of steps: `1,900 more steps: orchestrator show ID --cursor C`. How many more is
    known from the counts for the `first` page of all steps or of one status."""
    cursor = page.get("next_cursor")
    if not cursor:
        return None
    counts = d.get("steps") or {}
    total = None if wave is not None else (counts.get("by_status") or {}).get(status, 0) if status else \
        counts.get("total")
    shown = len(page.get("items") or [])
    filters = (f" --status {status}" if status else "") + (f" --wave {wave + 1}" if wave is not None else "")
    how = f"orchestrator {command} {d.get('id')}{filters} --cursor {cursor}"
    lead = f"{total - shown:,} more steps" if total is not None and first else "More steps"
    return Text(f"{lead}: {how} (or --all)", style="dim")


def deployment_view(d: dict[str, Any], page: dict[str, Any] | None = None, *, with_steps: bool = True,
                    max_step_rows: int | None = None,
                    clock: Callable[[], datetime] = _utc_now) -> RenderableType:
    """The summary of GET /deployments/{id}, then (with `page`, a page of its steps) a row per step."""
    parts: list[RenderableType] = [deployment_header(d, clock)]
    plan = d.get("plan")
    if plan:
        parts += [Text(""), plan_summary(plan, d.get("steps"), d.get("phase"))]
        if with_steps and (d.get("steps") or {}).get("total"):
            parts += [Text(""), progress_view(d, page, max_step_rows=max_step_rows)]
    return Group(*parts)


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters, the last one an ellipsis when something was cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def deployments_table(page: dict[str, Any], *, wide: bool = False, width: int = 80) -> RenderableType:
    """Fits `width` (80 by default): 8-character ids, the name and user cut with an ellipsis; `wide` adds full ids,
    providers and resource counts and cuts nothing."""
    items = page.get("items") or []
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    columns = ["id", "name", "status", "env", "created", "by"]
    if wide:
        columns[4:4] = ["providers", "resources"]
    for name in columns:
        table.add_column(name, no_wrap=True)
    # id 8 + status 17 + env 7 + created 10 + by 10, and 2 between each of the 6 columns: the name gets the rest.
    name_width = max(8, min(40, width - (8 + 17 + 7 + 10 + 10) - 2 * 5))
    for d in items:
        name, by = str(d.get("name")), str(d.get("initiated_by") or "-")
        row = [str(d.get("id")) if wide else short_id(d.get("id")), name if wide else fit(name, name_width),
               status_text(d.get("status")),
               ENVIRONMENT_SHORT.get(str(d.get("environment")), str(d.get("environment"))),
               ago(d.get("created_at")), by if wide else fit(by, 10)]
        if wide:
            row[4:4] = [",".join(d.get("providers") or []), str(d.get("resource_count", ""))]
        table.add_row(*row)
    total = page.get("total")
    footer = Text(f"{len(items)} of {total} deployment(s)" if total is not None else f"{len(items)} deployment(s)",
                  style="dim")
    return Group(table, footer)


def events_table(page: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("at", "event", "actor", "transition", "detail"):
        table.add_column(name, no_wrap=name in {"at", "event"}, overflow="fold")
    for e in page.get("items") or []:
        transition = ""
        if e.get("from_status") or e.get("to_status"):
            transition = f"{e.get('from_status') or '-'} -> {e.get('to_status') or '-'}"
        detail = ", ".join(f"{k}={v}" for k, v in (e.get("detail") or {}).items())
        table.add_row(ago(e.get("at")), str(e.get("type")), str(e.get("actor") or "-"), transition,
                      detail)
    return table


# -- drift ------------------------------------------------------------------------------------------------------------


def drift_report(report: dict[str, Any]) -> RenderableType:
    head = _kv_table()
    head.add_row("Report", str(report.get("id")))
    head.add_row("Deployment", str(report.get("deployment_id")))
    head.add_row("Scanned", f"{ago(report.get('created_at'))} ({report.get('scan_type', '?')})")
    severity = report.get("max_severity")
    head.add_row("Drift", Text(f"yes, max severity {severity}", style=SEVERITY_STYLES.get(severity or "", ""))
                 if report.get("has_drift") else Text("none", style="green"))
    head.add_row("Summary", str(report.get("summary") or ""))
    items = report.get("items") or []
    if not items:
        return head
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("severity", "type", "resource", "path", "expected", "actual"):
        table.add_column(name)
    for item in items:
        sev = str(item.get("severity"))
        table.add_row(Text(sev, style=SEVERITY_STYLES.get(sev, "")), str(item.get("drift_type")),
                      str(item.get("resource_identifier")), str(item.get("property_path") or "-"),
                      _short(item.get("expected_value")), _short(item.get("actual_value")))
    return Group(head, table)


def drift_reports_table(page: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("id", "deployment", "scanned", "type", "max severity", "items", "summary"):
        table.add_column(name, no_wrap=name in {"id", "deployment"})
    for r in page.get("items") or []:
        sev = r.get("max_severity") or "-"
        table.add_row(short_id(r.get("id")), short_id(r.get("deployment_id")), ago(r.get("created_at")),
                      str(r.get("scan_type", "-")), Text(sev, style=SEVERITY_STYLES.get(sev, "")),
                      str(len(r.get("items") or [])), str(r.get("summary") or ""))
    return table


def _short(value: Any, limit: int = 40) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- errors -----------------------------------------------------------------------------------------------------------


def field_error_lines(details: Any) -> list[str]:
    """`location: message` for each field error of a 422 reply or a local validation."""
    lines = []
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict):
                location = item.get("location") or ".".join(str(p) for p in item.get("loc") or []) or "(body)"
                lines.append(f"{location}: {item.get('msg', '?')}")
    return lines


# -- speculative plans (`orchestrator plan FILE`) -------------------------------------------------------------------

PLAIN_ACTIONS = frozenset({"create", "update", NO_OP, "destroy"})
# What a plan does to a resource, in `terraform plan` notation.
OUTCOME_MARKS = {"add": ("+", "green"), "change": ("~", "yellow"), "destroy": ("-", "red"),
                 "replace": ("-/+", "magenta")}
CHANGE_MARKS = {"+": "green", "~": "yellow", "-": "red"}
SENSITIVE = "(sensitive)"


def resource_outcomes(plan: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(identifier, outcome, its steps) per resource in plan order; outcome is add, change, destroy, replace or
    unchanged. A resource is replaced when its steps destroy and create it, or include actions other than create,
    update, no-op and destroy (a strategy's green, switch, retire, ...)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for step in plan.get("steps") or []:
        grouped.setdefault(str(step.get("resource_identifier") or step.get("step_id")), []).append(step)
    outcomes = []
    for identifier, steps in grouped.items():
        actions = {str(step.get("action")) for step in steps}
        if {"create", "destroy"} <= actions or actions - PLAIN_ACTIONS:
            outcome = "replace"
        elif "create" in actions:
            outcome = "add"
        elif "update" in actions:
            outcome = "change"
        elif "destroy" in actions:
            outcome = "destroy"
        else:
            outcome = "unchanged"
        outcomes.append((identifier, outcome, steps))
    return outcomes


def outcome_counts(outcomes: list[tuple[str, str, list[dict[str, Any]]]]) -> dict[str, int]:
    counts = dict.fromkeys(("add", "change", "destroy", "replace", "unchanged"), 0)
    for _, outcome, _ in outcomes:
        counts[outcome] += 1
    return counts


def _value(value: Any) -> str:
    """JSON (strings quoted, `null` for an absent side), cut at 100 characters; a masked secret as it is."""
    if value == SENSITIVE:
        return SENSITIVE
    return "null" if value is None else _short(json.dumps(value, sort_keys=True), 100)


def _change_lines(step: dict[str, Any]) -> list[Text]:
    """`~ path: old -> new` per changed path (`+` when the live side lacks it, `-` when the intent drops it)."""
    lines = []
    changes = step.get("changes")
    if changes is None:  # a server that predates values: the paths alone
        return [Text(f"      ~ {path}", style="yellow") for path in step.get("changed_paths") or []]
    for change in changes:
        old, new = change.get("old"), change.get("new")
        mark = "+" if old is None else "-" if new is None else "~"
        lines.append(Text(f"      {mark} {change.get('path')}: {_value(old)} -> {_value(new)}",
                          style=CHANGE_MARKS[mark]))
    return lines


def speculative_plan(plan: dict[str, Any]) -> RenderableType:
    """A plan of POST /plans as `terraform plan` shows one: each resource that changes with its mark (`+` create,
    `~` update with each path's old -> new, `-` destroy, `-/+` replace), the unchanged ones counted, the summary
    line, then the plan's figures, policy findings, phases and expected downtime."""
    outcomes = resource_outcomes(plan)
    counts = outcome_counts(outcomes)
    parts: list[RenderableType] = []
    changing = [entry for entry in outcomes if entry[1] != "unchanged"]
    if changing:
        parts.append(Text("The intent would change these resources:"))
    for identifier, outcome, steps in changing:
        mark, style = OUTCOME_MARKS[outcome]
        line = Text(f"  {mark} {identifier}", style=style)
        if outcome == "replace":
            line.append(f"  ({', '.join(str(step.get('action')) for step in steps)})", style="dim")
        parts.append(line)
        if outcome == "change":
            parts += [line for step in steps for line in _change_lines(step)]
    if counts["unchanged"]:
        parts.append(Text(f"{plural(counts['unchanged'], 'unchanged resource')} not shown.", style="dim"))
    if not changing:
        parts.append(Text("No changes: the live resources already match the intent.", style="green"))
    parts.append(Text(""))
    parts.append(Text(f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy, "
                      f"{counts['replace']} to replace.", style="bold"))
    by_action: dict[str, int] = {}
    for step in plan.get("steps") or []:
        by_action[str(step.get("action"))] = by_action.get(str(step.get("action")), 0) + 1
    figures = {**plan, "step_count": len(plan.get("steps") or []), "wave_count": len(plan.get("waves") or [])}
    parts += [Text(""), plan_summary(figures, {"by_action": by_action})]
    extra = _kv_table()
    if plan.get("blocked"):
        extra.add_row("Blocked", Text("policy blocks this plan: a deployment of it would fail", style="bold red"))
    elif plan.get("soft_blocked"):
        extra.add_row("Blocked", Text("until an admin overrides the findings above", style="magenta"))
    if plan.get("strategy"):
        extra.add_row("Strategy", str(plan["strategy"]))
    for number, phase in enumerate(plan.get("phases") or [], start=1):
        steps = phase.get("steps")
        size = plural(len(steps), "step") if isinstance(steps, list) else plural(int(steps or 0), "step")
        bake = f", then bakes {duration(phase['bake_seconds'])}" if phase.get("bake_seconds") else ""
        extra.add_row("Phase" if number == 1 else "", f"{number}. {phase.get('name', '?')}: {size}{bake}")
    if plan.get("expected_downtime_seconds") is not None:
        extra.add_row("Downtime", f"expected {duration(plan['expected_downtime_seconds'])}")
    if extra.row_count:
        parts.append(extra)
    return Group(*parts)
