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
export function resourceStatus(step) {
  if (step.action === "no-op") return "done";
  if (step.rolled_back) return "rolled-back";
  if (step.status === "succeeded") return "done";
  if (step.status === "failed" || step.status === "timed_out") return "failed";
  if (["running", "acquired", "queued", "retrying"].includes(step.status)) return "running";
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
 * renderResourceGraph(container, {onSelect}) -> {update(steps)} draws a page of GET /deployments/{id}/steps (never
 * more: a deployment of 10,000 steps is drawn a page at a time, as the Steps table below shows it).
 */
export function renderResourceGraph(container, { onSelect }) {
  let selected = null;

  function update(steps) {
    if (!steps || !steps.length) {
      container.replaceChildren(h("p", { class: "muted" }, "No steps to draw: the resources appear once the plan exists."));
      container.dataset.steps = "0";
      return;
    }
    const waves = [...new Set(steps.map((st) => st.wave))].sort((a, b) => a - b);
    const column = Object.fromEntries(waves.map((wave, index) => [wave, index]));
    const position = {};
    const filled = waves.map(() => 0);
    for (const step of steps) {
      const col = column[step.wave];
      position[step.step_id] = { x: PAD + col * (NODE_W + COL_GAP), y: HEAD + PAD + filled[col] * (NODE_H + ROW_GAP) };
      filled[col] += 1;
    }
    const rows = Math.max(...filled);
    const width = PAD * 2 + waves.length * NODE_W + (waves.length - 1) * COL_GAP;
    const height = HEAD + PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;

    const edges = [];
    for (const step of steps) {
      for (const dep of step.dependencies || []) {
        const from = position[dep];
        const to = position[step.step_id];
        if (!from || !to) continue;  // a dependency on another page
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x;
        const y2 = to.y + NODE_H / 2;
        const bend = (x2 - x1) / 2;
        edges.push(s("path", { class: "resource-edge", "data-from": dep, "data-to": step.step_id,
          d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, "marker-end": "url(#resource-arrow)" }));
      }
    }
    const heads = waves.map((wave, col) => s("text", { class: "resource-wave", x: PAD + col * (NODE_W + COL_GAP),
      y: 16 }, `Wave ${wave + 1}`));
    const nodes = steps.map((step) => {
      const { x, y } = position[step.step_id];
      const label = short(step.resource_identifier);
      const status = resourceStatus(step);
      const choose = () => { selected = step.step_id; onSelect(step); update(steps); };
      return s("g", { class: ["resource", selected === step.step_id && "resource--selected"], "data-step": step.step_id,
        "data-status": status, "data-identifier": step.resource_identifier, tabindex: 0, role: "button",
        "aria-label": `${step.resource_identifier}: ${status}`,
        onclick: choose, onkeydown: (e) => { if (e.key === "Enter") choose(); } },
      s("rect", { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
      s("text", { class: "resource__title", x: x + 10, y: y + 19 }, `${step.action} ${label.title}`.slice(0, 28)),
      s("text", { class: "resource__subtitle", x: x + 10, y: y + 36 }, label.subtitle.slice(0, 32)));
    });
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "resource-graph" },
      s("defs", {}, s("marker", { id: "resource-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
        markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "resource-arrow" }))),
      ...heads, ...edges, ...nodes);
    container.replaceChildren(svg);
    container.dataset.steps = String(steps.length);
  }

  return { update };
}
