"""Waiting for a deployment to settle: a live view on a terminal, one line per change otherwise, and the approval
prompt when a person is at the keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.prompt import Prompt
from rich.spinner import Spinner
from rich.text import Text

from . import render
from .client import ApiError, Client
from .exitcodes import TERMINAL

MAX_TRANSIENT_FAILURES = 8
STEP_PAGE = 50  # steps a poll reads for line-per-change output


class StoppedWaiting(KeyboardInterrupt):
    """Ctrl-C while following a deployment: the CLI stops, the deployment does not."""

    def __init__(self, deployment_id: str):
        self.deployment_id = deployment_id
        super().__init__(f"stopped following deployment {deployment_id}; it goes on: "
                         f"`orchestrator wait {deployment_id}` follows it again")


class WaitTimeout(Exception):
    def __init__(self, deployment: dict[str, Any], seconds: float):
        self.deployment, self.seconds = deployment, seconds
        super().__init__(f"deployment {deployment.get('id')} is still {deployment.get('status')} after {seconds:g}s; "
                         f"it goes on: `orchestrator show {deployment.get('id')}`")


def ask_decision(console: Console) -> tuple[str, str | None]:
    """What to do with a deployment awaiting approval: ("approve", comment), ("reject", reason) or ("skip", None)."""
    choice = Prompt.ask("Approve this deployment?", choices=["approve", "reject", "skip"], default="skip",
                        console=console)
    if choice == "approve":
        comment = Prompt.ask("Comment (optional)", default="", show_default=False, console=console)
        return "approve", comment.strip() or None
    if choice == "reject":
        reason = ""
        while not reason.strip():
            reason = Prompt.ask("Reason (required)", console=console)
        return "reject", reason.strip()
    return "skip", None


class Watcher:
    """Polls GET /deployments/{id} until a terminal state, rendering each state it sees."""

    def __init__(self, client: Client, console: Console, *, interval: float = 1.0, timeout: float | None = None,
                 interactive: bool = False, quiet: bool = False, terminal_states: frozenset[str] = TERMINAL,
                 ask: Callable[[Console], tuple[str, str | None]] = ask_decision,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.client, self.console = client, console
        self.interval, self.timeout = max(0.05, interval), timeout
        self.interactive, self.quiet = interactive, quiet
        self.terminal_states = terminal_states
        self.ask, self.sleep, self.clock = ask, sleep, clock
        self._live: Live | None = None
        self._seen_status: str | None = None
        self._seen_phase: tuple[Any, Any] | None = None
        self._seen_steps: dict[str, tuple[str, bool, int]] = {}
        self._seen_counts: str | None = None
        # The page of steps shown under the summary: the current wave's while executing, else the failed ones.
        self.page: dict[str, Any] | None = None
        self._plan_shown = False
        self._approval_handled = False
        self._started = time.monotonic()

    # -- the loop -------------------------------------------------------------------------------------------------

    def wait(self, deployment_id: str, initial: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            if not self.quiet and self.console.is_terminal:
                with Live(console=self.console, refresh_per_second=4, transient=False) as self._live:
                    try:
                        return self._loop(deployment_id, initial)
                    finally:
                        self._live = None
            return self._loop(deployment_id, initial)
        except StoppedWaiting:
            raise
        except KeyboardInterrupt:
            raise StoppedWaiting(deployment_id) from None

    def _loop(self, deployment_id: str, initial: dict[str, Any] | None) -> dict[str, Any]:
        deadline = self._started + self.timeout if self.timeout else None
        deployment = initial or self._fetch(deployment_id)
        while True:
            self._show(deployment)
            status = deployment.get("status")
            if status in self.terminal_states:
                return deployment
            if status == "awaiting_approval" and not self._approval_handled:
                decided = self._awaiting_approval(deployment)
                if decided is not None:
                    deployment = decided
                    continue
            elif status != "awaiting_approval":
                self._approval_handled = False  # a re-plan may ask again
            pause = self.interval
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(deployment, self.timeout or 0)
                pause = min(pause, remaining)
            self.sleep(pause)
            deployment = self._fetch(deployment_id)

    def _fetch(self, deployment_id: str) -> dict[str, Any]:
        """The deployment's summary and the page of steps worth showing, riding out short outages (connection
        errors, 5xx, 429) with a growing pause."""
        failures = 0
        while True:
            try:
                deployment = self.client.deployment(deployment_id)
                self.page = None if self.quiet else self._steps_worth_a_look(deployment)
                return deployment
            except ApiError as error:
                failures += 1
                if not error.transient or failures > MAX_TRANSIENT_FAILURES:
                    raise
                pause = min(10.0, self.interval * 2 ** failures)
                if error.retry_after and error.retry_after.isdigit():
                    pause = max(pause, float(error.retry_after))
                self._note(f"{error.message}; retrying in {pause:.0f}s", style="yellow")
                self.sleep(pause)

    def _steps_worth_a_look(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        """One page, whatever the deployment's size: the wave running now, else the steps that failed, else (once
        settled) the first steps."""
        counts = deployment.get("steps") or {}
        if not counts.get("total"):
            return None
        deployment_id = str(deployment.get("id"))
        rows = max(8, self.console.height - 24) if self._live is not None else STEP_PAGE
        if counts.get("current_wave") is not None:
            return self.client.steps(deployment_id, wave=counts["current_wave"], limit=rows)
        if (counts.get("by_status") or {}).get("failed"):
            return self.client.steps(deployment_id, status="failed", limit=rows)
        if deployment.get("status") in self.terminal_states:
            return self.client.steps(deployment_id, limit=rows)
        return None

    # -- approval -------------------------------------------------------------------------------------------------

    def _awaiting_approval(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        deployment_id = str(deployment.get("id"))
        self._approval_handled = True
        if not self.interactive:
            self._note(f"awaiting approval; approve with `orchestrator approve {deployment_id}` or reject with "
                       f"`orchestrator reject {deployment_id} --reason ...` (still waiting)", style="yellow")
            return None
        if self._live is not None:
            # Erase the live view while the prompt is up, so the redraw after the decision replaces it instead of
            # leaving a stale `awaiting_approval` view above the new one.
            self._live.transient = True
            self._live.stop()
        try:
            if self._live is None and not self._plan_shown and deployment.get("plan"):
                self.console.print(render.plan_summary(deployment["plan"], deployment.get("steps")))
            choice, text = self.ask(self.console)
            if choice == "skip":
                self.console.print("[yellow]left for someone else to decide; still waiting[/yellow]")
                return None
            try:
                if choice == "approve":
                    return self.client.approve(deployment_id, text)
                return self.client.reject(deployment_id, text or "rejected from the CLI")
            except ApiError as error:
                if error.transient:
                    raise
                self.console.print(f"[red]could not {choice}: {error.message}[/red] (still waiting)")
                return None
        finally:
            if self._live is not None:
                self._live.transient = False  # the final view stays on screen
                self._live.start()

    # -- output ---------------------------------------------------------------------------------------------------

    def _note(self, message: str, style: str = "") -> None:
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(Text(message, style=style))
        else:
            self.console.print(Text(message, style=style))

    def _show(self, deployment: dict[str, Any]) -> None:
        if self.quiet:
            return
        if self._live is not None:
            self._live.update(self.live_view(deployment), refresh=True)
        else:
            self._lines(deployment)

    def live_view(self, deployment: dict[str, Any]) -> RenderableType:
        # Room for the header and plan summary; the steps share what is left of the terminal.
        rows = max(8, self.console.height - 24)
        parts: list[RenderableType] = [render.deployment_view(deployment, self.page, max_step_rows=rows,
                                                              clock=self.clock)]
        status = deployment.get("status")
        elapsed = render.duration(round(time.monotonic() - self._started))
        if status not in self.terminal_states:
            doing = f"{status}, {deployment['phase']}" if deployment.get("phase") else str(status)
            parts += [Text(""), Spinner("dots", text=Text(f"{doing} ... {elapsed} (Ctrl-C stops waiting, not the "
                                                          "deployment)", style="dim"))]
        return Group(*parts)

    def _lines(self, deployment: dict[str, Any]) -> None:
        """Plain output for logs: one line per state change and per step change."""
        status = deployment.get("status")
        if status != self._seen_status:
            line = Text.assemble("status ", render.status_text(status))
            if deployment.get("error_message") and status in self.terminal_states | {"rolling_back"}:
                line.append(f": {deployment['error_message']}")
            self.console.print(line)
            self._seen_status = status
        plan = deployment.get("plan")
        if plan and not self._plan_shown:
            self.console.print(render.plan_summary(plan, deployment.get("steps")))
            self._plan_shown = True
        phase = (deployment.get("phase"), deployment.get("phase_ends_at"))
        if phase != self._seen_phase:
            # A log has no countdown: each phase gets one line, a bake saying how long it has left when it starts.
            if phase[0]:
                self.console.print(Text.assemble("  phase ", render.phase_text(deployment, self.clock()) or ""))
            self._seen_phase = phase
        counts = render.status_counts(deployment.get("steps") or {}) if deployment.get("steps") else None
        if counts and counts != self._seen_counts:
            self.console.print(Text(f"  steps: {counts}", style="dim"))
            self._seen_counts = counts
        for step in (self.page or {}).get("items") or []:
            sid = str(step.get("step_id"))
            key = (str(step.get("status")), bool(step.get("rolled_back")), int(step.get("attempt_number") or 1))
            if self._seen_steps.get(sid) == key:
                continue
            self._seen_steps[sid] = key
            text = f"  step {sid} {step.get('resource_identifier') or ''}: {key[0]}"
            if (step.get("attempt_number") or 1) > 1:
                text += f" (attempt {step['attempt_number']})"
            if key[1]:
                text += " (rolled back)"
            if step.get("error_message"):
                text += f": {step['error_message']}"
            self.console.print(Text(text, style=render.STEP_STYLES.get(key[0], "")))
