// Draws a state machine (parsed by asl.js, laid out by layout.js) as SVG, and colours it by a progress
// (progress.js). Each state is a <g class="state" data-state="Name" data-status="done|running|..."> element.
import { parseAsl } from "./asl.js";
import { layeredLayout, smoothPath } from "./layout.js";
import { LEGEND, NOT_REACHED, statusOf } from "./progress.js";
import { h, s } from "./dom.js";

const FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif';
const LEAF_HEIGHT = 50;
const INNER_HEIGHT = 36;
const MAP_HEADER = 48;
const MAP_NOTE = 20;
const PAD = 12;
const ICON_SPACE = 38;

let measureContext;
function textWidth(text, font) {
  measureContext ??= document.createElement("canvas").getContext("2d");
  measureContext.font = font;
  return measureContext.measureText(text).width;
}

function naturalWidth(node, depth) {
  const name = textWidth(node.id, `600 ${depth ? 12 : 13}px ${FONT}`);
  const sub = textWidth(node.subtitle, `11px ${FONT}`);
  const own = Math.ceil(Math.max(name, sub) + ICON_SPACE + 14);
  const inner = node.processors.flatMap((p) => p.nodes).map((n) => naturalWidth(n, depth + 1) + 2 * PAD);
  return Math.max(own, depth ? 0 : 190, ...inner);
}

/** Sizes a node at `width`; a Map's inner states are stacked inside it. */
function measure(node, width, depth) {
  if (!node.processors.length) return { node, width, height: depth ? INNER_HEIGHT : LEAF_HEIGHT, children: [] };
  const children = [];
  let y = MAP_HEADER;
  for (const processor of node.processors) {
    for (const inner of processor.nodes) {
      const child = measure(inner, width - 2 * PAD, depth + 1);
      children.push({ ...child, x: PAD, y });
      y += child.height + 8;
    }
  }
  return { node, width, height: y + 4 + (depth ? 0 : MAP_NOTE), children };
}

const ICONS = {
  done: "M-3.6,0.2 L-1.1,2.7 L3.6,-2.4",
  failed: "M-2.8,-2.8 L2.8,2.8 M2.8,-2.8 L-2.8,2.8",
  waiting: "M-1.8,-3 L-1.8,3 M1.8,-3 L1.8,3",
  "rolled-back": "M-2.6,-3.2 L-3.2,0 L-0.2,-0.6 M-3,-0.4 A3.6,3.6 0 1 1 -1.5,3",
  running: "",
};

function icon(cx, cy, r) {
  return s("g", { class: "state__icon", transform: `translate(${cx},${cy})` },
    s("circle", { class: "state__dot", r }),
    s("circle", { class: "state__pulse", r }),
    s("path", { class: "state__glyph", d: "" }));
}

function drawState(measured, depth) {
  const { node, width, height } = measured;
  const isMap = node.processors.length > 0;
  const radius = node.type === "Choice" ? Math.min(height / 2, 18) : 8;
  const headerMid = isMap ? 24 : height / 2;
  const group = s("g", {
    class: ["state", `state--${node.type.toLowerCase()}`, depth && "state--inner", node.terminal && "state--terminal"],
    "data-state": node.id, "data-type": node.type, "data-status": NOT_REACHED,
  },
  s("title", {}, node.comment ? `${node.id} (${node.type}): ${node.comment}` : `${node.id} (${node.type})`),
  s("rect", { class: "state__box", width, height, rx: radius }),
  node.terminal && !depth && s("rect", {
    class: "state__ring", x: 3, y: 3, width: width - 6, height: height - 6, rx: Math.max(2, radius - 3),
  }),
  icon(19, headerMid, depth ? 7 : 8),
  s("text", { class: "state__name", x: ICON_SPACE - 4, y: headerMid - (depth ? 2 : 3) }, node.id),
  s("text", { class: "state__type", x: ICON_SPACE - 4, y: headerMid + (depth ? 11 : 12) }, node.subtitle),
  isMap && !depth && s("text", { class: "state__note", x: width / 2, y: height - 9, "text-anchor": "middle" }, ""));
  for (const child of measured.children) {
    const inner = drawState(child, depth + 1);
    inner.setAttribute("transform", `translate(${child.x},${child.y})`);
    group.append(inner);
  }
  return group;
}

const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Each label goes on its edge, near the start, at the first spot that covers no state and no other label. */
function placeLabels(labels, layer, boxes) {
  const taken = boxes.map((b) => ({ x: b.x - 2, y: b.y - 2, width: b.width + 4, height: b.height + 4 }));
  for (const { route, path, isCatch, text } of labels) {
    const width = textWidth(text, `10.5px ${FONT}`) + 10;
    const total = path.getTotalLength();
    let spot;
    for (let at = 24; at < total - 14 && !spot; at += 8) {
      const point = path.getPointAtLength(at);
      const box = { x: point.x - width / 2, y: point.y - 8, width, height: 16 };
      if (!taken.some((other) => overlaps(box, other))) spot = box;
    }
    if (!spot) {
      const point = path.getPointAtLength(Math.min(total / 2, 30));
      spot = { x: point.x - width / 2, y: point.y - 8, width, height: 16 };
    }
    taken.push(spot);
    layer.append(s("g", { class: ["edge-label", isCatch && "edge-label--catch"],
      transform: `translate(${spot.x.toFixed(1)},${spot.y.toFixed(1)})` },
    s("title", {}, route.edges.map((e) => `${e.kind}: ${e.label}`).join("\n")),
    s("rect", { width: width.toFixed(1), height: 16, rx: 8 }),
    s("text", { x: (width / 2).toFixed(1), y: 11.5, "text-anchor": "middle" }, text)));
  }
}

const EDGE_WEIGHT = { next: 3, default: 2, choice: 2, catch: 1 };

/**
 * Renders the definition into `container`; returns {update(progress)} to colour it. The layout is computed once:
 * updates only change attributes, so a refresh does not move anything.
 */
export function renderStateMachine(container, definition) {
  const machine = parseAsl(definition);
  const measured = new Map(machine.nodes.map((node) => [node.id, measure(node, naturalWidth(node, 0), 0)]));
  const layout = layeredLayout({
    startAt: machine.startAt,
    nodes: machine.nodes.map((node) => ({ id: node.id, ...measured.get(node.id) })),
    edges: machine.edges.map((edge) => ({ ...edge, weight: EDGE_WEIGHT[edge.kind] })),
  });

  const svg = s("svg", {
    class: "graph", viewBox: `0 0 ${layout.width.toFixed(0)} ${layout.height.toFixed(0)}`, role: "img",
    "aria-label": "Deployment lifecycle state machine", style: `max-width:${layout.width.toFixed(0)}px`,
  },
  s("defs", {},
    ...["plain", "catch", "taken"].map((kind) => s("marker", {
      id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9,
      markerUnits: "userSpaceOnUse",
      orient: "auto-start-reverse", class: `arrow arrow--${kind}`,
    }, s("path", { d: "M0,0 L10,5 L0,10 z" })))));

  const edgeLayer = s("g", { class: "edges" });
  const labelLayer = s("g", { class: "edge-labels" });
  const edgeElements = [];
  const labels = [];
  for (const route of layout.routes) {
    const kinds = new Set(route.edges.map((e) => e.kind));
    const isCatch = kinds.size === 1 && kinds.has("catch");
    const path = s("path", {
      class: ["edge", isCatch ? "edge--catch" : "edge--plain"], d: smoothPath(route.points),
      "data-from": route.from, "data-to": route.to, "marker-end": `url(#arrow-${isCatch ? "catch" : "plain"})`,
    });
    edgeLayer.append(path);
    edgeElements.push({ route, path, isCatch });
    const text = route.edges.map((e) => e.label).filter((l) => l && l !== "any error").join(" · ");
    if (text) labels.push({ route, path, isCatch, text });
  }

  const stateLayer = s("g", { class: "states" });
  const groups = new Map();
  for (const node of machine.nodes) {
    const box = layout.nodes.get(node.id);
    const group = drawState(measured.get(node.id), 0);
    group.setAttribute("transform", `translate(${box.x.toFixed(1)},${box.y.toFixed(1)})`);
    stateLayer.append(group);
  }
  svg.append(edgeLayer, stateLayer, labelLayer);
  for (const group of svg.querySelectorAll(".state")) groups.set(group.dataset.state, group);

  const legend = h("ul", { class: "legend", "aria-label": "Legend" },
    LEGEND.map(([status, label]) => h("li", { class: "legend__item", "data-status": status },
      h("span", { class: "legend__swatch" }), label)),
    h("li", { class: "legend__item legend__item--edge" }, h("span", { class: "legend__line legend__line--taken" }),
      "Path taken"),
    h("li", { class: "legend__item legend__item--edge" }, h("span", { class: "legend__line legend__line--catch" }),
      "On error (Catch)"));
  container.replaceChildren(legend, h("div", { class: "graph-scroll" }, svg));
  placeLabels(labels, labelLayer, [...layout.nodes.values()]);

  return {
    svg,
    update(progress) {
      for (const [state, group] of groups) {
        const status = statusOf(progress, state);
        if (group.dataset.status !== status) group.dataset.status = status;
        const glyph = group.querySelector(":scope > .state__icon .state__glyph");
        glyph.setAttribute("d", ICONS[status] || "");
        const note = group.querySelector(":scope > .state__note");
        if (note) note.textContent = progress.notes[state] || "";
        const title = group.querySelector(":scope > title");
        const base = title.textContent.split("\n")[0];
        const extra = progress.notes[state] ? `\n${progress.notes[state]}` : "";
        title.textContent = `${base}\nStatus: ${status.replace("-", " ")}${extra}`;
      }
      const taken = new Set();
      for (let i = 1; i < progress.path.length; i++) taken.add(`${progress.path[i - 1]}\u0000${progress.path[i]}`);
      for (const { route, path, isCatch } of edgeElements) {
        const on = taken.has(`${route.from}\u0000${route.to}`);
        path.classList.toggle("edge--taken", on);
        path.setAttribute("marker-end", `url(#arrow-${on ? "taken" : isCatch ? "catch" : "plain"})`);
        if (on) edgeLayer.append(path); // drawn over the others
      }
    },
  };
}
