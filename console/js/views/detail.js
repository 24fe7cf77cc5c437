import config from "../../config.js";
import { api, loadAsl } from "../api.js";
import {
  TERMINAL, badge, formatClock, formatCountdown, formatDuration, formatMoney, formatTime, h, secondsLeft,
} from "../dom.js";
import { renderStateMachine } from "../graph.js";
import { deriveProgress } from "../progress.js";
import { renderResourceGraph, resourceStatus, terraformBlocks } from "../resources.js";

const APPROVERS = new Set(["admin", "operator"]);
const STEP_STATUSES = ["pending", "queued", "acquired", "running", "succeeded", "failed", "retrying", "cancelled",
  "timed_out"];
const STEP_PAGE = 100;
const AUDIT_SHOWN = 200; // the newest events drawn; the trail of a 10,000-step run holds more than a page wants
const PHASES_SHOWN = 12; // a rolling plan of thousands of resources has hundreds of batches
let aslPromise;

/**
 * One deployment: summary, state machine graph, plan, a page of its steps and the audit trail; live until it settles.
 * Whatever the deployment's size, a refresh reads the bounded summary, one page of steps and the new events only.
 */
export function detailView({ id, user }) {
  const sections = {
    summary: h("section", { class: "card summary", id: "summary", "aria-live": "polite" }),
    plan: h("section", { class: "card", id: "plan" }),
    steps: h("div", { id: "steps-body" }),
    audit: h("section", { class: "card", id: "audit" }),
  };
  // The page of steps shown: its filters, and the cursors of the pages before it (for Previous).
  const paging = { status: "", wave: "", cursors: [""] };
  let stepPage = { items: [], next_cursor: null };
  const statusFilter = h("select", { id: "step-status", "aria-label": "Step status", onchange: () => filter() },
    h("option", { value: "" }, "All statuses"), STEP_STATUSES.map((v) => h("option", { value: v }, v.replaceAll("_", " "))));
  const waveFilter = h("input", { id: "step-wave", type: "number", min: 1, step: 1, placeholder: "All waves",
    "aria-label": "Wave", class: "input--narrow", onchange: () => filter() });
  const previous = h("button", { type: "button", class: "button button--small", id: "steps-previous",
    onclick: () => turn(-1) }, "← Previous");
  const next = h("button", { type: "button", class: "button button--small", id: "steps-next",
    onclick: () => turn(1) }, "Next →");
  const pageNote = h("span", { class: "muted small", id: "steps-page" });
  const stepsCard = h("section", { class: "card", id: "steps" },
    h("div", { class: "card__header" }, h("h2", {}, "Steps"),
      h("span", { class: "muted small" }, "ExecuteWaves → ApplyStage → ApplyBatch")),
    h("div", { class: "step-controls" }, statusFilter, waveFilter, previous, pageNote, next),
    sections.steps);
  // The audit trail is append-only: each refresh re-reads the page the last read ended in, and what follows.
  const trail = { items: [], lastStart: 0, lastCursor: "" };
  const graph = h("div", { class: "graph-host", id: "graph" }, h("p", { class: "muted" }, "Loading the state machine…"));
  const graphCaption = h("p", { class: "muted small", id: "graph-caption" });
  const resourceHost = h("div", { class: "graph-host resource-host", id: "resource-graph" });
  const resourceDetail = h("div", { class: "resource-detail", id: "resource-detail", hidden: true });
  let terraformPromise;
  const resources = renderResourceGraph(resourceHost, { onSelect: (step) => showResource(step) });
  const live = h("span", { class: "live-note muted", id: "live-note" });
  const banner = h("p", { class: "banner banner--danger", role: "alert", id: "detail-error", hidden: true });
  const reason = h("textarea", { id: "reject-reason", name: "reason", rows: 4, maxlength: 1000, required: true,
    placeholder: "Why is this plan rejected?" });
  const dialogError = h("p", { class: "form-error", hidden: true });
  const dialog = h("dialog", { id: "reject-dialog", class: "dialog" },
    h("form", { method: "dialog", id: "reject-form" },
      h("h2", {}, "Reject this deployment?"),
      h("p", { class: "muted" }, "The workflow ends as rejected. The reason is recorded in the audit trail."),
      h("label", { for: "reject-reason" }, "Reason"), reason, dialogError,
      h("div", { class: "dialog__buttons" },
        h("button", { type: "button", class: "button", id: "reject-cancel", onclick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", class: "button button--danger", id: "reject-confirm" }, "Reject"))));

  const element = h("main", { class: "page page--detail" },
    h("div", { class: "page-header page-header--compact" },
      h("a", { href: "#/deployments", class: "back" }, "← Deployments"), live),
    banner,
    sections.summary,
    h("div", { class: "detail-grid" },
      h("div", { class: "detail-main" },
        h("section", { class: "card graph-card", id: "resources" },
          h("div", { class: "card__header" }, h("h2", {}, "Resources"),
            h("p", { class: "muted small" }, "The page of steps below, by dependency wave; colours are the steps' "
              + "status. Click one for its step and Terraform.")),
          resourceHost, resourceDetail),
        h("section", { class: "card graph-card" },
          h("div", { class: "card__header" }, h("h2", {}, "Lifecycle"), graphCaption),
          graph)),
      h("div", { class: "detail-side" }, sections.plan, stepsCard, sections.audit)),
    dialog);

  let stopped = false;
  let timer;
  // A bake's countdown ticks every second by this browser's clock, between the refreshes that read the API.
  const ticker = setInterval(() => tickCountdowns(element), 1000);
  let machine;
  let deployment;
  let acting = false; // an approve or reject is on its way
  let actionError = "";
  const rendered = {};
  const renderIfChanged = (name, key, render) => {
    const signature = JSON.stringify(key);
    if (rendered[name] === signature) return;
    rendered[name] = signature;
    sections[name].replaceChildren(...render().filter((child) => child !== null && child !== undefined));
  };

  async function refresh() {
    clearTimeout(timer);
    try {
      const [current, events, page] = await Promise.all([api.deployment(id), readEvents(), readSteps()]);
      if (stopped) return;
      deployment = current;
      stepPage = page;
      banner.hidden = true;
      await show(current, events, page);
    } catch (exc) {
      if (stopped) return;
      banner.textContent = exc.status === 404 ? "This deployment does not exist, or it belongs to another tenant."
        : `Could not refresh: ${exc.message}`;
      banner.hidden = false;
      if (exc.status === 404 || exc.status === 401) return;
    }
    const settled = deployment && TERMINAL.has(deployment.status);
    live.replaceChildren(settled
      ? h("span", {}, "Final state · not refreshing")
      : h("span", {}, h("span", { class: "pulse-dot" }), `Live · refreshing every ${config.detailRefreshSeconds} s`));
    live.dataset.live = settled ? "false" : "true";
    if (!stopped && !settled) timer = setTimeout(refresh, config.detailRefreshSeconds * 1000);
  }

  async function readEvents() {
    const items = trail.items.slice(0, trail.lastStart);
    let cursor = trail.lastCursor;
    for (;;) {
      const page = await api.events(id, { cursor });
      if (!page.next_cursor) {
        trail.lastStart = items.length;
        trail.lastCursor = cursor;
        items.push(...page.items);
        trail.items = items;
        return items;
      }
      items.push(...page.items);
      cursor = page.next_cursor;
    }
  }

  function readSteps() {
    return api.steps(id, { status: paging.status, wave: paging.wave, limit: STEP_PAGE,
      cursor: paging.cursors[paging.cursors.length - 1] });
  }

  function filter() {
    const wave = Number.parseInt(waveFilter.value, 10);
    paging.status = statusFilter.value;
    paging.wave = Number.isInteger(wave) && wave >= 1 ? wave - 1 : ""; // people count waves from 1, the API from 0
    paging.cursors = [""];
    refresh();
  }

  function turn(direction) {
    if (direction > 0 && stepPage.next_cursor) paging.cursors.push(stepPage.next_cursor);
    else if (direction < 0 && paging.cursors.length > 1) paging.cursors.pop();
    else return;
    refresh();
  }

  function showPaging(d, page) {
    const index = paging.cursors.length - 1;
    const first = index * STEP_PAGE + 1;
    const counts = d.steps || {};
    const total = paging.wave !== "" ? null
      : paging.status ? (counts.by_status || {})[paging.status] || 0 : counts.total || 0;
    pageNote.textContent = page.items.length
      ? `${first.toLocaleString()}–${(first + page.items.length - 1).toLocaleString()}`
        + (total != null ? ` of ${total.toLocaleString()}` : "")
      : "No step";
    previous.disabled = index === 0;
    next.disabled = !page.next_cursor;
  }

  async function showResource(step) {
    const status = resourceStatus(step);
    const rows = [
      ["Resource", step.resource_identifier], ["Action", step.action], ["Wave", step.wave + 1], ["Status", status],
      ["Attempts", step.attempt_number || "-"],
      ["Duration", step.duration_seconds != null ? formatDuration(step.duration_seconds) : "-"],
      ["Changed", (step.changed_paths || []).join(", ") || "-"],
      ["Depends on", (step.dependencies || []).join(", ") || "-"],
    ];
    const terraform = h("pre", { class: "code", id: "resource-terraform" }, "Loading the Terraform…");
    resourceDetail.replaceChildren(
      h("h3", { id: "resource-detail-title" }, step.resource_identifier),
      h("dl", { class: "meta" }, ...rows.map(([label, value]) => meta(label, String(value)))),
      step.error_message ? h("p", { class: "banner banner--danger" }, step.error_message) : null,
      terraform);
    resourceDetail.hidden = false;
    try {
      terraformPromise ??= api.terraform(id);
      const blocks = terraformBlocks(await terraformPromise, step.resource_identifier);
      terraform.textContent = blocks ? JSON.stringify(blocks, null, 2) : "No Terraform for this resource.";
    } catch (exc) {
      terraformPromise = undefined;
      terraform.textContent = `Could not load the Terraform: ${exc.message}`;
    }
  }

  async function show(d, events, page) {
    renderIfChanged("summary", [d, user.role, acting], () => summary(d));
    renderIfChanged("plan", [d.plan, d.phase], () => planSection(d.plan, d.phase));
    renderIfChanged("steps", [d.plan, page], () => {
      resources.update(page.items);
      return stepsSection(d, page);
    });
    showPaging(d, page);
    renderIfChanged("audit", [events.length, events[events.length - 1]], () => auditSection(events));
    const progress = deriveProgress(d, events);
    graphCaption.textContent = progress.mode === "rollback"
      ? "Latest execution: a requested rollback. Colours come from the status and the audit trail."
      : "Latest execution. Colours come from the deployment's status and its audit trail.";
    if (!machine) {
      try {
        aslPromise ??= loadAsl();
        machine = renderStateMachine(graph, await aslPromise);
      } catch (exc) {
        aslPromise = undefined;
        graph.replaceChildren(h("p", { class: "banner banner--danger" }, exc.message));
        return;
      }
    }
    machine.update(progress);
    graph.dataset.deploymentStatus = d.status;
  }

  // Approve / reject.
  const canDecide = (d) => d.status === "awaiting_approval" && APPROVERS.has(user.role);

  async function act(work) {
    acting = true;
    actionError = "";
    renderIfChanged("summary", [deployment, user.role, acting], () => summary(deployment));
    try {
      await work();
    } catch (exc) {
      actionError = exc.message;
    }
    acting = false;
    rendered.summary = undefined;
    await refresh();
  }

  function approve() {
    act(() => api.approve(id));
  }

  dialog.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      dialogError.textContent = "A reason is required.";
      dialogError.hidden = false;
      return;
    }
    dialog.close();
    await act(() => api.reject(id, text));
  });

  function openReject() {
    reason.value = "";
    dialogError.hidden = true;
    dialog.showModal();
    reason.focus();
  }

  function summary(d) {
    const actions = canDecide(d)
      ? h("div", { class: "actions", id: "actions" },
        h("button", { class: "button button--primary", id: "approve-button", disabled: acting, onclick: approve },
          acting ? "Working…" : "Approve"),
        h("button", { class: "button button--danger-outline", id: "reject-button", disabled: acting,
          onclick: openReject }, "Reject"))
      : null;
    const approval = d.approval || {};
    // A rollback is told by what it undid: a percentage of a run that was reversed says nothing true.
    const undo = undoSummary(d);
    const progress = undo ? Math.round((100 * undo.undone) / Math.max(undo.applied, 1)) : Math.round(d.progress_percentage ?? 0);
    return [
      h("div", { class: "summary__top" },
        h("div", { class: "summary__title" },
          h("h1", { id: "deployment-name" }, d.name),
          badge(d.status, "badge--large"),
          h("span", { class: `chip chip--${d.environment}` }, d.environment)),
        actions),
      d.description ? h("p", { class: "muted summary__description" }, d.description) : null,
      h("div", { class: "progress", role: "progressbar", "aria-valuenow": progress, "aria-valuemin": 0,
        "aria-valuemax": 100, "data-status": d.status },
      h("div", { class: "progress__bar", style: `width:${progress}%` })),
      h("dl", { class: "meta" },
        meta("Deployment", h("span", { class: "mono" }, d.id)),
        undo ? meta("Rollback", h("span", { id: "undo-summary" }, undo.text)) : meta("Progress", `${progress}%`),
        meta("Providers", d.providers.map((p) => h("span", { class: "chip chip--provider" }, p))),
        meta("Resources", d.resource_count),
        meta("Strategy", d.strategy),
        d.phase ? meta("Phase", phaseLine(d)) : null,
        meta("Initiated by", d.initiated_by),
        meta("Created", formatTime(d.created_at)),
        meta("Updated", formatTime(d.updated_at)),
        approval.required || approval.decided_by
          ? meta("Approval", h("span", { id: "approval-decision", "data-decision": approval.decision || "" },
            approval.decided_by
              ? `${approval.decision || "decided"} by ${approval.decided_by} · ${formatTime(approval.decided_at)}`
                + (approval.comment ? ` · “${approval.comment}”` : "")
              : `requested ${formatTime(approval.requested_at)}`))
          : null),
      d.error_message ? h("p", { class: "banner banner--danger", id: "deployment-error" }, d.error_message) : null,
      d.status === "awaiting_approval" && !canDecide(d)
        ? h("p", { class: "banner banner--info", id: "approval-note" },
          `Waiting for an admin or operator to approve. You are signed in as ${user.role}.`)
        : null,
      actionError ? h("p", { class: "banner banner--danger", id: "action-error", role: "alert" }, actionError) : null,
    ];
  }

  refresh();
  return {
    element,
    unmount() { stopped = true; clearTimeout(timer); clearInterval(ticker); if (dialog.open) dialog.close(); },
  };
}

/** The strategy's phase (`canary`, `batch 2/5`) and, while it bakes, the time left until `phase_ends_at`. */
function phaseLine(d) {
  return h("span", { id: "deployment-phase", "data-phase": d.phase },
    h("span", { class: "phase-name" }, d.phase),
    d.phase_ends_at
      ? h("span", { class: "countdown", id: "phase-countdown", "data-ends-at": d.phase_ends_at,
        title: `until ${formatTime(d.phase_ends_at)}` }, countdownText(d.phase_ends_at))
      : null);
}

function countdownText(endsAt) {
  return `${formatCountdown(secondsLeft(endsAt))} left`;
}

function tickCountdowns(root) {
  for (const countdown of root.querySelectorAll("[data-ends-at]")) {
    countdown.textContent = countdownText(countdown.dataset.endsAt);
  }
}

/** For a run rolling back or rolled back: how many applied steps were undone, as a sentence. */
export function undoSummary(d) {
  if (d.status !== "rolling_back" && d.status !== "rolled_back") return null;
  const applied = (d.steps || {}).applied || 0;
  const undone = (d.steps || {}).rolled_back || 0;
  const text = applied === 0
    ? "nothing had been applied: nothing to undo"
    : `undid ${undone} of ${applied} applied step${applied === 1 ? "" : "s"}`
      + (d.status === "rolling_back" ? " so far" : "");
  return { applied, undone, text };
}

function meta(label, ...value) {
  return h("div", { class: "meta__item" }, h("dt", {}, label), h("dd", {}, ...value));
}

function planSection(plan, currentPhase) {
  if (!plan) return [h("h2", {}, "Plan"), h("p", { class: "muted" }, "No plan yet: the planner has not run.")];
  const findings = [
    ...plan.policy.violations.map((f) => ({ ...f, tone: "danger" })),
    ...(plan.policy.overridable || []).map((f) => ({ ...f, tone: "danger", note: " (an admin may override)" })),
    ...plan.policy.warnings.map((f) => ({ ...f, tone: "warning" })),
  ];
  const results = plan.policy_results || [];
  const radius = plan.blast_radius || [];
  const totals = plan.totals || {};
  // The summary lists at most 20 of each; say how many more there are.
  const more = (name, shown, noun) => (totals[name] > shown
    ? h("p", { class: "muted small more-note" }, `… and ${(totals[name] - shown).toLocaleString()} more ${noun}`) : null);
  const kinds = ["violations", "overridable", "warnings"];
  const hiddenFindings = kinds.reduce((n, k) => n + Math.max(0, (totals[k] || 0) - (plan.policy[k] || []).length), 0);
  return [
    h("div", { class: "card__header" }, h("h2", {}, "Plan"),
      h("span", { class: "mono muted small", title: plan.plan_id }, plan.plan_id.slice(0, 8))),
    h("div", { class: "stats" },
      stat("Steps", plan.step_count),
      stat("Waves", plan.wave_count),
      stat("Est. duration", formatDuration(plan.estimated_total_duration_seconds)),
      stat("Monthly cost", formatMoney(plan.estimated_monthly_cost)),
      stat("Risk", h("span", { class: `risk risk--${plan.risk_assessment}` }, plan.risk_assessment)),
      plan.expected_downtime_seconds != null
        ? stat("Expected downtime", h("span", { id: "expected-downtime" },
          formatDuration(plan.expected_downtime_seconds)))
        : null),
    phasesSection(plan, currentPhase),
    h("ul", { class: "plain-list small" },
      h("li", {}, plan.requires_approval ? "Needs a person's approval" : "Approved automatically",
        plan.auto_approve_overridden ? " (auto-approve withdrawn by policy)" : ""),
      plan.risk_reasons.map((r) => h("li", {}, `Risk: ${r}`))),
    findings.length
      ? h("ul", { class: "findings" }, findings.map((f) => h("li", { class: `finding finding--${f.tone}` },
        h("strong", {}, f.rule_id), " ", f.message,
        f.resource_identifier ? h("span", { class: "mono small" }, ` (${f.resource_identifier})`) : null,
        f.note || null)))
      : h("p", { class: "muted small" }, "Policy: no findings."),
    hiddenFindings ? h("p", { class: "muted small more-note" }, `… and ${hiddenFindings.toLocaleString()} more findings`)
      : null,
    results.length
      ? h("ul", { class: "plain-list small", id: "policy-results" }, results.map((r) => h("li", {},
        h("strong", {}, r.policy), ` (${r.enforcement}): ${r.result}`,
        r.resources.length ? h("span", { class: "mono" }, ` ${r.resources.slice(0, 3).join(", ")}`) : null,
        r.resource_count > 3 ? h("span", { class: "muted" }, ` and ${(r.resource_count - 3).toLocaleString()} more`) : null)))
      : null,
    more("policy_results", results.length, "policies"),
    radius.length
      ? h("details", { class: "reasoning", id: "blast-radius" },
        h("summary", {}, `Blast radius: ${radius.length} changed resource${radius.length === 1 ? "" : "s"} `
          + "with dependents"),
        h("ul", { class: "plain-list small" }, radius.map((e) => h("li", {},
          h("span", { class: "mono" }, `${e.action} ${e.resource}`),
          `: ${e.counts.total} dependent${e.counts.total === 1 ? "" : "s"} (`,
          Object.entries({ ...e.counts.by_provider, ...e.counts.by_environment }).map(([k, v]) => `${k} ${v}`)
            .join(", "), ") ", h("span", { class: "mono muted" }, e.dependents.join(", ")))),
          more("blast_radius", radius.length, "changed resources with dependents")))
      : null,
    plan.reasoning ? h("details", { class: "reasoning" }, h("summary", {}, "Planner's reasoning"),
      h("p", {}, plan.reasoning)) : null,
  ];
}

/** The plan's phases in order, the running one marked; a long list shows the stretch around the running one. */
function phasesSection(plan, currentPhase) {
  const phases = plan.phases || [];
  if (!phases.length) return null;
  const index = phases.findIndex((p) => p.name === currentPhase);
  const start = phases.length <= PHASES_SHOWN ? 0
    : Math.max(0, Math.min(index - 2, phases.length - PHASES_SHOWN));
  const end = Math.min(phases.length, start + PHASES_SHOWN);
  const items = phases.slice(start, end).map((p, i) => {
    const name = String(p.name || p.kind || "?");
    const current = name === currentPhase;
    const steps = Array.isArray(p.steps) ? p.steps.length : p.steps; // a count in the summary, a list in a plan
    const details = [
      steps != null && (steps || p.kind !== "bake") ? `${steps.toLocaleString()} step${steps === 1 ? "" : "s"}` : "",
      p.bake_seconds != null ? `${p.kind === "bake" ? "" : "bake "}${formatDuration(p.bake_seconds)}` : "",
    ].filter(Boolean).join(" · ");
    return h("li", { class: ["phase", current && "phase--current"], value: start + i + 1, "data-phase": name,
      "data-kind": p.kind, "aria-current": current ? "step" : null },
    h("span", { class: "phase__name" }, name),
    p.kind && !name.startsWith(p.kind) ? h("span", { class: "chip phase__kind" }, p.kind) : null,
    details ? h("span", { class: "muted small phase__detail" }, details) : null);
  });
  return h("div", { class: "phases", id: "plan-phases" },
    h("h3", {}, `Strategy ${plan.strategy ? plan.strategy.replaceAll("_", " ") : ""} · `
      + `${phases.length.toLocaleString()} phase${phases.length === 1 ? "" : "s"}`),
    start
      ? h("p", { class: "muted small more-note" }, `… ${start.toLocaleString()} earlier phase${start === 1 ? "" : "s"}`)
      : null,
    h("ol", { class: "phase-list" }, items),
    end < phases.length
      ? h("p", { class: "muted small more-note" }, `… and ${(phases.length - end).toLocaleString()} more phases`)
      : null);
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "stat__value" }, value), h("div", { class: "stat__label" }, label));
}

/** An identifier that may wrap after its slashes, not in the middle of a name. */
function breakable(identifier) {
  return String(identifier).split("/").flatMap((part, i) => (i ? ["/", h("wbr"), part] : [part]));
}

/** One page of GET /deployments/{id}/steps as a table, grouped under its waves. */
function stepsSection(d, page) {
  if (!d.plan) return [h("p", { class: "muted" }, "The steps appear once the plan exists.")];
  if (!page.items.length) return [h("p", { class: "muted", id: "steps-empty" }, "No step matches these filters.")];
  const rows = [];
  let wave = null;
  for (const step of page.items) {
    if (step.wave !== wave) {
      wave = step.wave;
      rows.push(h("tr", { class: "wave-row" }, h("th", { colspan: 5 }, `Wave ${wave + 1}`)));
    }
    const attempted = step.attempt_number > 0;
    rows.push(h("tr", { "data-step": step.step_id, "data-status": step.status },
      h("td", {}, h("div", { class: "mono small identifier" }, breakable(step.resource_identifier)),
        step.error_message ? h("div", { class: "step-error small" }, step.error_message) : null,
        step.provider_resource_id
          ? h("div", { class: "muted small ellipsis mono", title: step.provider_resource_id }, step.provider_resource_id)
          : null),
      h("td", {}, h("span", { class: `chip chip--action-${step.action}` }, step.action || "–")),
      h("td", {}, badge(step.status), step.rolled_back ? h("span", { class: "badge badge--purple" }, "undone") : null),
      h("td", { class: "numeric", title: "attempt" }, attempted ? step.attempt_number : "–"),
      h("td", { class: "numeric" }, attempted ? formatDuration(step.duration_seconds) : "–")));
  }
  return [h("div", { class: "table-scroll" }, h("table", { class: "table table--compact", id: "step-results" },
    h("colgroup", {}, ["resource", "action", "status", "attempt", "duration"]
      .map((name) => h("col", { class: `col-${name}` }))),
    h("thead", {}, h("tr", {}, ["Resource", "Action", "Status", "Attempt", "Duration"]
      .map((t) => h("th", { class: ["Attempt", "Duration"].includes(t) ? "numeric" : null }, t)))),
    h("tbody", {}, rows)))];
}

const EVENT_TONE = {
  created: "neutral", replan_requested: "neutral", planning_started: "info", plan_generated: "info",
  approval_requested: "warning", approved: "success", rejected: "danger", execution_started: "info",
  step_succeeded: "success", step_failed: "danger", verification_started: "info", verified: "success",
  completed: "success", failed: "danger", rollback_started: "purple", rolled_back: "purple", cancelled: "neutral",
};

/** An event's detail as one line, and its error (if any) apart. */
function describe(detail) {
  const { error, ...rest } = detail || {};
  let text;
  if (rest.resource) {
    text = [rest.resource, rest.action, rest.attempt ? `attempt ${rest.attempt}` : ""].filter(Boolean).join(" · ");
  } else {
    text = Object.entries(rest)
      .filter(([key, value]) => key !== "plan_id" && value !== error)
      .map(([key, value]) => `${key.replaceAll("_", " ")}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
      .join(" · ");
  }
  return { text, error: error ? String(error) : "" };
}

function auditSection(events) {
  const items = events.slice(-AUDIT_SHOWN).reverse().map((e) => {
    const { text, error } = describe(e.detail);
    return h("li", { class: "timeline__item", "data-type": e.type },
      h("span", { class: `timeline__dot timeline__dot--${EVENT_TONE[e.type] || "neutral"}` }),
      h("div", { class: "timeline__body" },
        h("div", { class: "timeline__head" },
          h("strong", {}, e.type.replaceAll("_", " ")),
          e.from_status && e.to_status ? h("span", { class: "muted small" }, ` ${e.from_status} → ${e.to_status}`) : null,
          h("time", { class: "muted small", datetime: e.at, title: formatTime(e.at) }, formatClock(e.at))),
        h("div", { class: "small" }, h("span", { class: "actor" }, e.actor),
          text ? h("span", { class: "muted" }, ` · ${text}`) : null),
        error ? h("div", { class: "small step-error" }, error) : null));
  });
  return [
    h("div", { class: "card__header" }, h("h2", {}, "Audit trail"),
      h("span", { class: "muted small" }, `${events.length.toLocaleString()} event${events.length === 1 ? "" : "s"}, `
        + (events.length > AUDIT_SHOWN ? `the newest ${AUDIT_SHOWN} shown` : "newest first"))),
    items.length ? h("ol", { class: "timeline" }, items) : h("p", { class: "muted" }, "No event yet."),
  ];
}
