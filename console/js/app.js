// The console: sign-in, the list of deployments and one deployment, behind a hash router
// (#/deployments, #/deployments/<id>) so the folder works as plain static files anywhere.
import { api, onUnauthorized, session } from "./api.js";
import { h } from "./dom.js";
import { detailView } from "./views/detail.js";
import { listView } from "./views/list.js";
import { loginView } from "./views/login.js";

const root = document.getElementById("app");
let user = null;
let view = null;

function mount(next) {
  view?.unmount();
  view = next;
  root.replaceChildren(...(user ? [topBar()] : []), next.element);
}

function topBar() {
  return h("header", { class: "topbar" },
    h("a", { class: "topbar__brand", href: "#/deployments" },
      h("span", { class: "logo", "aria-hidden": "true" }), "Orchestrator console"),
    h("nav", { class: "topbar__nav" }, h("a", { href: "#/deployments" }, "Deployments")),
    h("div", { class: "topbar__user" },
      h("span", { id: "current-user" }, user.username),
      h("span", { class: "chip chip--role", id: "current-role", "data-role": user.role }, user.role),
      h("button", { class: "button button--ghost button--small", id: "sign-out", onclick: signOut }, "Sign out")));
}

function signOut() {
  session.token = null;
  user = null;
  route();
}

async function loadUser() {
  if (!session.token) return null;
  try {
    return await api.me();
  } catch (exc) {
    if (exc.status === 401) session.token = null;
    else throw exc;
    return null;
  }
}

async function route() {
  if (!user) {
    try {
      user = await loadUser();
    } catch (exc) {
      root.replaceChildren(h("main", { class: "page" }, h("p", { class: "banner banner--danger" },
        `The API cannot be reached: ${exc.message}`)));
      return;
    }
  }
  if (!user) {
    mount(loginView({ onSignedIn: async () => { user = await api.me(); route(); } }));
    return;
  }
  const [path, queryString] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const query = new URLSearchParams(queryString || "");
  if (parts[0] === "deployments" && parts[1]) {
    mount(detailView({ id: decodeURIComponent(parts[1]), user }));
  } else {
    if (location.hash !== "#/deployments" && !parts.length) history.replaceState(null, "", "#/deployments");
    mount(listView({ query }));
  }
  document.title = parts[1] ? "Deployment · Orchestrator console" : "Deployments · Orchestrator console";
}

onUnauthorized(() => {
  session.token = null;
  user = null;
  route();
});
window.addEventListener("hashchange", route);
route();
