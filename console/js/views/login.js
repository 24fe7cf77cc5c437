import { api, session } from "../api.js";
import { h } from "../dom.js";

/** The sign-in form: POST /auth/login, the token into sessionStorage, then `onSignedIn()`. */
export function loginView({ onSignedIn }) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true,
    autofocus: true });
  const password = h("input", { id: "password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "button button--primary button--block" }, "Sign in");
  const form = h("form", { class: "login-card card", id: "login-form", novalidate: false },
    h("div", { class: "login-card__brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Orchestrator console"),
    h("p", { class: "muted" }, "Sign in with your orchestrator account."),
    h("label", { for: "username" }, "Username"), username,
    h("label", { for: "password" }, "Password"), password,
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      const reply = await api.login(username.value.trim(), password.value);
      session.token = reply.access_token;
      await onSignedIn();
    } catch (exc) {
      error.textContent = exc.status === 401 || exc.status === 422 ? "Wrong username or password." : exc.message;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });
  return { element: h("main", { class: "login" }, form), unmount() {} };
}
