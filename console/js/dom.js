// Small DOM helpers: element builders and formatting.

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

function build(element, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "class" && Array.isArray(value)) element.setAttribute("class", value.filter(Boolean).join(" "));
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  return element;
}

/** h("a", {href: "#", class: "x", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs, ...children) {
  return append(build(document.createElement(tag), attrs), children);
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  return append(build(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

export const TERMINAL = new Set(["completed", "failed", "rolled_back", "cancelled", "rejected"]);

const STATUS_TONE = {
  pending: "neutral", planning: "info", planned: "info", awaiting_approval: "warning", approved: "info",
  executing: "info", verifying: "info", completed: "success", failed: "danger", rolling_back: "purple",
  rolled_back: "purple", cancelled: "neutral", rejected: "danger",
  // step statuses
  queued: "neutral", acquired: "info", running: "info", succeeded: "success", retrying: "warning",
  timed_out: "danger",
};

const IN_FLIGHT = new Set(["pending", "planning", "planned", "approved", "executing", "verifying", "rolling_back",
  "queued", "acquired", "running", "retrying"]);

export function badge(status, extra) {
  const tone = STATUS_TONE[status] || "neutral";
  const live = IN_FLIGHT.has(status);
  return h("span", { class: ["badge", `badge--${tone}`, live && "badge--live", extra], "data-status": status },
    status.replaceAll("_", " "));
}

export function formatTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function formatClock(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function formatRelative(iso, now = Date.now()) {
  if (!iso) return "–";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** Whole seconds from `now` until the API time `iso`, rounded up and never below 0 (a bake that ran over, or a
 * clock ahead of the server's, reads 0). */
export function secondsLeft(iso, now = Date.now()) {
  return Math.max(0, Math.ceil((new Date(iso).getTime() - now) / 1000));
}

/** A countdown as a clock reads: 0:07, 4:05, 1:02:03. */
export function formatCountdown(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = String(seconds % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

export function formatMoney(amount) {
  if (amount === null || amount === undefined) return "–";
  return `$${Number(amount).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
