import config from "../../config.js";
import { api } from "../api.js";
import { badge, formatRelative, formatTime, h } from "../dom.js";

const STATUSES = ["pending", "planning", "planned", "awaiting_approval", "approved", "executing", "verifying",
  "completed", "failed", "rolling_back", "rolled_back", "cancelled", "rejected"];
const PAGE = 25;

/** The deployments of the caller's tenant (GET /deployments), refreshed every few seconds. */
export function listView({ query }) {
  const state = { status: query.get("status") || "", offset: Number(query.get("offset")) || 0 };
  const filter = h("select", { id: "status-filter", "aria-label": "Filter by status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((status) => h("option", { value: status, selected: status === state.status },
      status.replaceAll("_", " "))));
  const updated = h("span", { class: "muted refresh-note", id: "list-updated" }, "Loading…");
  const body = h("tbody");
  const footer = h("div", { class: "table-footer" });
  const error = h("p", { class: "banner banner--danger", role: "alert", hidden: true });
  const element = h("main", { class: "page" },
    h("div", { class: "page-header" },
      h("div", {}, h("h1", {}, "Deployments"), h("p", { class: "muted" }, "Every deployment of your tenant, newest first.")),
      h("div", { class: "page-header__tools" }, updated, filter)),
    error,
    h("div", { class: "card card--flush" },
      h("table", { class: "table table--clickable", id: "deployments" },
        h("thead", {}, h("tr", {}, ["Name", "Status", "Environment", "Providers", "Resources", "Initiated by",
          "Updated"].map((title) => h("th", {}, title)))),
        body),
      footer));

  let timer;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    try {
      const page = await api.deployments({ status: state.status, limit: PAGE, offset: state.offset });
      if (stopped) return;
      error.hidden = true;
      render(page);
      updated.textContent = `Auto-refresh every ${config.listRefreshSeconds} s · updated ${new Date().toLocaleTimeString()}`;
    } catch (exc) {
      if (stopped) return;
      error.textContent = `Could not load the deployments: ${exc.message}`;
      error.hidden = false;
    }
    if (!stopped) timer = setTimeout(refresh, config.listRefreshSeconds * 1000);
  }

  function render(page) {
    const rows = page.items.map((d) => {
      const href = `#/deployments/${encodeURIComponent(d.id)}`;
      return h("tr", { "data-id": d.id, onclick: (event) => {
        if (!event.target.closest("a")) location.hash = href;
      } },
      h("td", {}, h("a", { href, class: "strong" }, d.name), h("div", { class: "mono muted small" }, d.id)),
      h("td", {}, badge(d.status), d.phase ? h("div", { class: "muted small phase-note" }, d.phase) : null),
      h("td", {}, h("span", { class: `chip chip--${d.environment}` }, d.environment)),
      h("td", {}, d.providers.map((p) => h("span", { class: "chip chip--provider" }, p))),
      h("td", { class: "numeric" }, d.resource_count),
      h("td", {}, d.initiated_by),
      h("td", { title: formatTime(d.updated_at) }, formatRelative(d.updated_at)));
    });
    if (!rows.length) {
      rows.push(h("tr", { class: "empty" }, h("td", { colspan: 7 },
        state.status ? `No ${state.status.replaceAll("_", " ")} deployment.`
          : "No deployment yet. Create one with POST /api/v1/deployments.")));
    }
    body.replaceChildren(...rows);
    const last = Math.min(page.total, state.offset + page.items.length);
    footer.replaceChildren(
      h("span", { class: "muted" }, page.total ? `${state.offset + 1}–${last} of ${page.total}` : ""),
      h("span", { class: "pager" },
        h("button", { class: "button button--small", disabled: state.offset === 0,
          onclick: () => go(Math.max(0, state.offset - PAGE)) }, "← Newer"),
        h("button", { class: "button button--small", disabled: last >= page.total,
          onclick: () => go(state.offset + PAGE) }, "Older →")));
  }

  function go(offset) {
    state.offset = offset;
    refresh();
  }

  filter.addEventListener("change", () => {
    state.status = filter.value;
    state.offset = 0;
    refresh();
  });

  refresh();
  return { element, unmount() { stopped = true; clearTimeout(timer); } };
}
