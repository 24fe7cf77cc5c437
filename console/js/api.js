// The public HTTP API under /api/v1, with the bearer token kept in sessionStorage (gone when the tab closes).
import config from "../config.js";

const TOKEN_KEY = "orchestrator-console.token";
const BASE = `${(config.apiBaseUrl || "").replace(/\/+$/, "")}/api/v1`;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.detail)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

const listeners = new Set();
/** Called with no argument when the API answers 401: the token expired or was revoked. */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { message: `the API at ${BASE} cannot be reached` });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    if (response.status === 401 && path !== "/auth/login") listeners.forEach((listener) => listener());
    throw new ApiError(response.status, data);
  }
  return data;
}

const enc = encodeURIComponent;

/** A query string of the parameters that have a value. */
function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, value]) => value !== "" && value != null)).toString();
}

export const api = {
  login: (username, password) => request("POST", "/auth/login", { username, password }),
  me: () => request("GET", "/auth/me"),
  deployments: ({ status = "", limit = 50, offset = 0 } = {}) => {
    const query = new URLSearchParams({ limit, offset });
    if (status) query.set("status", status);
    return request("GET", `/deployments?${query}`);
  },
  deployment: (id) => request("GET", `/deployments/${enc(id)}`),
  // Collections read a page at a time: {items, next_cursor}; pass next_cursor back as `cursor` for the next page.
  events: (id, { limit = 1000, cursor = "" } = {}) =>
    request("GET", `/deployments/${enc(id)}/events?${query({ limit, cursor })}`),
  steps: (id, { status = "", wave = "", limit = 100, cursor = "" } = {}) =>
    request("GET", `/deployments/${enc(id)}/steps?${query({ status, wave, limit, cursor })}`),
  terraform: (id) => request("GET", `/deployments/${enc(id)}/terraform`),
  approve: (id, comment) => request("POST", `/deployments/${enc(id)}/approve`, comment ? { comment } : {}),
  reject: (id, reason) => request("POST", `/deployments/${enc(id)}/reject`, { reason }),
};

/** The state machine definition the graph is drawn from (a static file next to the page). */
export async function loadAsl() {
  const response = await fetch(new URL(config.aslUrl, document.baseURI));
  if (!response.ok) throw new Error(`cannot load the state machine definition (${config.aslUrl}: ${response.status})`);
  return response.json();
}
