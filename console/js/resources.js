// The resource graph: what operators think in. One column per dependency wave (numbered from 1, as in the CLI),
// a node per resource coloured by its step's status, an edge per dependency; a click shows the step and the
// Terraform generated for the resource.

import { h, s } from "./dom.js";

const NODE_W = 190;
const NODE_H = 46;
const COL_GAP = 70;
const ROW_GAP = 16;
const HEAD = 28;
const PAD = 12;

/** A step's status in the graph's colours (the same data-status values as the lifecycle graph). */
export function resourceStatus(step, result) {
  if (step.action === "no-op") return "done";
  if (!result) return "not-reached";
  if (result.rolled_back) return "rolled-back";
  if (result.status === "succeeded") return "done";
  if (result.status === "failed" || result.status === "timed_out") return "failed";
  if (["running", "acquired", "queued", "retrying"].includes(result.status)) return "running";
  return "not-reached";
}

function short(identifier) {
  const [provider, region, type, name] = identifier.split("/");
  return name ? { title: name, subtitle: `${provider} · ${type} · ${region}` } : { title: identifier, subtitle: "" };
}

/** The Terraform blocks of one resource in its provider's document (main resource and its companions). */
export function terraformBlocks(documents, identifier) {
  const [provider, region, , name] = identifier.split("/");
  const local = `${name}_${(region || "").replaceAll("-", "_")}`;
  const out = {};
  for (const [type, blocks] of Object.entries(documents?.[provider]?.resource || {})) {
    if (blocks && local in blocks) out[type] = { [local]: blocks[local] };
  }
  return Object.keys(out).length ? { resource: out } : null;
}

/**
 * renderResourceGraph(container, deployment, {onSelect}) draws the plan's resources; returns {update(deployment)}.
 */
export function renderResourceGraph(container, { onSelect }) {
  let selected = null;

  function update(d) {
    const plan = d.plan;
    if (!plan || !plan.steps.length) {
      container.replaceChildren(h("p", { class: "muted" }, "No plan yet: the resources appear once it is planned."));
      return;
    }
    const results = Object.fromEntries((d.step_results || []).map((r) => [r.step_id, r]));
    const position = {};
    plan.waves.forEach((wave, column) => wave.forEach((sid, row) => {
      position[sid] = { x: PAD + column * (NODE_W + COL_GAP), y: HEAD + PAD + row * (NODE_H + ROW_GAP) };
    }));
    const rows = Math.max(...plan.waves.map((w) => w.length));
    const width = PAD * 2 + plan.waves.length * NODE_W + (plan.waves.length - 1) * COL_GAP;
    const height = HEAD + PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;

    const edges = [];
    for (const step of plan.steps) {
      for (const dep of step.dependencies || []) {
        const from = position[dep];
        const to = position[step.step_id];
        if (!from || !to) continue;
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x;
        const y2 = to.y + NODE_H / 2;
        const bend = (x2 - x1) / 2;
        edges.push(s("path", { class: "resource-edge", "data-from": dep, "data-to": step.step_id,
          d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, "marker-end": "url(#resource-arrow)" }));
      }
    }
    const heads = plan.waves.map((wave, column) => s("text", { class: "resource-wave", x: PAD + column * (NODE_W + COL_GAP),
      y: 16 }, `Wave ${column + 1}`));
    const nodes = plan.steps.filter((st) => position[st.step_id]).map((step) => {
      const { x, y } = position[step.step_id];
      const label = short(step.resource_identifier);
      const status = resourceStatus(step, results[step.step_id]);
      return s("g", { class: ["resource", selected === step.step_id && "resource--selected"], "data-step": step.step_id,
        "data-status": status, "data-identifier": step.resource_identifier, tabindex: 0, role: "button",
        "aria-label": `${step.resource_identifier}: ${status}`,
        onclick: () => { selected = step.step_id; onSelect(step, results[step.step_id]); update(d); },
        onkeydown: (e) => { if (e.key === "Enter") { selected = step.step_id; onSelect(step, results[step.step_id]); update(d); } } },
      s("rect", { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
      s("text", { class: "resource__title", x: x + 10, y: y + 19 }, `${step.action} ${label.title}`.slice(0, 28)),
      s("text", { class: "resource__subtitle", x: x + 10, y: y + 36 }, label.subtitle.slice(0, 32)));
    });
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "resource-graph" },
      s("defs", {}, s("marker", { id: "resource-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
        markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "resource-arrow" }))),
      ...heads, ...edges, ...nodes);
    container.replaceChildren(svg);
    container.dataset.steps = String(plan.steps.length);
  }

  return { update };
}
