"""A small client for the orchestrator's public HTTP API (/api/v1), on urllib, with a timeout on every call."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from . import __version__
from .credentials import normalise_url

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0


class ApiError(Exception):
    """An error reply of the API ({"message", "code", "details"?}), or a failure to get any reply (status 0)."""

    def __init__(self, status: int, message: str, code: str, details: Any = None,
                 retry_after: str | None = None):
        self.status, self.message, self.code, self.details = status, message, code, details
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body

    @property
    def transient(self) -> bool:
        """Worth retrying while waiting for a deployment: no reply, throttling, or a server-side error."""
        return self.status == 0 or self.status == 429 or self.status >= 500


class NotLoggedIn(Exception):
    def __init__(self, api_url: str, reason: str = "not logged in"):
        self.api_url = api_url
        super().__init__(f"{reason} to {api_url}: run `orchestrator login` (or pass --token)")


def quote(segment: str) -> str:
    """A path segment, escaped: an id can never change which route is called."""
    return urllib.parse.quote(segment, safe="")


class Client:
    def __init__(self, api_url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 correlation_id: str | None = None, trace: Callable[[str], None] | None = None):
        self.base = normalise_url(api_url)
        self.trace = trace
        self.token = token
        self.timeout = timeout
        self.correlation_id = correlation_id or f"cli-{uuid.uuid4()}"

    # -- transport ------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, auth: bool = True) -> Any:
        """Send one request; return the decoded JSON body (None when empty), or raise `ApiError`."""
        if auth and not self.token:
            raise NotLoggedIn(self.base)
        url = self.base + API_PREFIX + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        sent = {"Accept": "application/json", "User-Agent": f"orchestrator-cli/{__version__}",
                "X-Correlation-Id": self.correlation_id, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=sent, method=method)
        if self.trace:
            self.trace(f"-> {method} {url} (correlation id {self.correlation_id})")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                if self.trace:
                    self.trace(f"<- {response.status} ({len(raw)} bytes)")
                return _decode(raw, response.status)
        except urllib.error.HTTPError as error:
            raw = _read_quietly(error)
            if self.trace:
                self.trace(f"<- {error.code} {_snippet(raw)}")
            raise _api_error(error.code, raw, error.headers.get("Retry-After") if error.headers else None) from None
        except urllib.error.URLError as error:
            reason = error.reason
            raise ApiError(0, f"cannot reach the API at {self.base}: {_describe(reason)}",
                           "unreachable") from None
        except TimeoutError:
            raise ApiError(0, f"no reply from {self.base} within {self.timeout:g}s", "timeout") from None
        except (http.client.HTTPException, ConnectionError, OSError) as error:
            raise ApiError(0, f"connection to {self.base} failed: {_describe(error)}", "unreachable") from None

    # -- the API --------------------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        return self.request("POST", "/auth/login", {"username": username, "password": password}, auth=False)

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/auth/me")

    def create_deployment(self, intent: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.request("POST", "/deployments", intent, headers={"Idempotency-Key": idempotency_key})

    def speculative_plan(self, intent: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/plans", intent)

    def list_deployments(self, *, status: str | None = None, environment: str | None = None,
                         limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
        return self.request("GET", "/deployments", query={"status": status, "environment": environment,
                                                          "limit": limit, "offset": offset})

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return self.request("GET", f"/deployments/{quote(deployment_id)}")

    def events(self, deployment_id: str, *, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """One page of the audit trail, oldest first: {"items", "next_cursor"}."""
        return self.request("GET", f"/deployments/{quote(deployment_id)}/events",
                            query={"limit": limit, "cursor": cursor})

    def steps(self, deployment_id: str, *, status: str | None = None, wave: int | None = None,
              limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """One page of the steps in order (wave, then position): {"items", "next_cursor"}."""
        return self.request("GET", f"/deployments/{quote(deployment_id)}/steps",
                            query={"status": status, "wave": wave, "limit": limit, "cursor": cursor})

    def every(self, fetch: Callable[..., dict[str, Any]], *args: Any, **query: Any) -> dict[str, Any]:
        """Every page of a collection (`fetch` is `steps` or `events`) as one: {"items", "next_cursor": None}."""
        items: list[Any] = []
        cursor = query.pop("cursor", None)
        while True:
            page = fetch(*args, cursor=cursor, **query)
            items += page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return {"items": items, "next_cursor": None}

    def terraform(self, deployment_id: str) -> dict[str, Any]:
        return self.request("GET", f"/deployments/{quote(deployment_id)}/terraform")

    def approve(self, deployment_id: str, comment: str | None = None) -> dict[str, Any]:
        body = {"comment": comment} if comment else {}
        return self.request("POST", f"/deployments/{quote(deployment_id)}/approve", body)

    def reject(self, deployment_id: str, reason: str) -> dict[str, Any]:
        return self.request("POST", f"/deployments/{quote(deployment_id)}/reject", {"reason": reason})

    def cancel(self, deployment_id: str) -> dict[str, Any]:
        return self.request("POST", f"/deployments/{quote(deployment_id)}/cancel", {})

    def rollback(self, deployment_id: str) -> dict[str, Any]:
        return self.request("POST", f"/deployments/{quote(deployment_id)}/rollback", {})

    def drift_scan(self, deployment_id: str) -> dict[str, Any]:
        return self.request("POST", "/drift/scan", {"deployment_id": deployment_id})

    def drift_reports(self, deployment_id: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/drift/reports", query={"deployment_id": deployment_id})

    def drift_remediate(self, report_id: str) -> dict[str, Any]:
        return self.request("POST", f"/drift/reports/{quote(report_id)}/remediate", {})

    def policies(self) -> dict[str, Any]:
        return self.request("GET", "/policies")

    def create_policy(self, policy: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/policies", policy)

    def replace_policy(self, policy_id: str, policy: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/policies/{quote(policy_id)}", policy)

    def delete_policy(self, policy_id: str) -> None:
        self.request("DELETE", f"/policies/{quote(policy_id)}")

    def freeze_windows(self) -> dict[str, Any]:
        return self.request("GET", "/freeze-windows")

    def create_freeze_window(self, window: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/freeze-windows", window)

    def delete_freeze_window(self, window_id: str) -> None:
        self.request("DELETE", f"/freeze-windows/{quote(window_id)}")

    def logout(self) -> None:
        self.request("POST", "/auth/logout")

    def create_token(self, name: str, role: str, expires_in_days: int) -> dict[str, Any]:
        return self.request("POST", "/auth/tokens", {"name": name, "role": role, "expires_in_days": expires_in_days})

    def list_tokens(self) -> dict[str, Any]:
        return self.request("GET", "/auth/tokens")

    def revoke_token(self, token_id: str) -> None:
        self.request("DELETE", f"/auth/tokens/{quote(token_id)}")


def _decode(raw: bytes, status: int) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(status if status >= 500 else 502, f"the API answered {status} with a body that is not JSON: "
                       f"{_snippet(raw)}", "bad_reply") from None


def _api_error(status: int, raw: bytes, retry_after: str | None) -> ApiError:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or (_snippet(raw) if raw else "") or http.client.responses.get(status, "error")
    # API Gateway's own replies (401 from the authorizer, throttling, 502) carry a message but no code.
    code = body.get("code") or _GATEWAY_CODES.get(status, f"http_{status}")
    return ApiError(status, str(message), str(code), body.get("details"), retry_after)


_GATEWAY_CODES = {400: "malformed_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  409: "conflict", 413: "payload_too_large", 429: "throttled"}


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except Exception:  # noqa: BLE001 - a body we cannot read is an empty body
        return b""


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(reason: Any) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the orchestrator running? `make run` starts it locally)"
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror or reason})"
    return str(reason) or type(reason).__name__
