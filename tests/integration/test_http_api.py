"""The HTTP API over real sockets: `local_cloud.api_url` serves API Gateway's emulation (REST proxy events, the
Lambda REQUEST authorizer, gateway responses, stage throttling) in front of the API function. Every request here
goes through a TCP connection, as a browser or the CLI would send it.

Covered: users of every role in two tenants, the role x route permission matrix (permission is decided before
existence, state and body), tenant isolation, validation (every field error at once, malformed JSON, query values),
token checks at the gateway, login failures and lockout, Idempotency-Key, 20 concurrent deployments with complete
audit trails, health and readiness through a Valkey outage, and the OpenAPI document and Swagger UI.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest

pytestmark = pytest.mark.integration

ROLES = ("admin", "operator", "deployer", "viewer")
PASSWORD = "correct-horse-battery"
SETTLED = {"completed", "failed", "rolled_back", "cancelled", "rejected"}
# What API Gateway answers (template.yaml GatewayResponses.UNAUTHORIZED) when the authorizer refuses the token.
GATEWAY_UNAUTHORIZED = {"message": "Unauthorized", "code": "unauthorized"}

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


class _FromAddress(urllib.request.HTTPHandler):
    """Connects from another loopback address (127.0.0.0/8 is all local), so the API sees another client."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.address, 0)), req)


def _opener(source: str | None) -> urllib.request.OpenerDirector:
    if source is None:
        return _NO_PROXY
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _FromAddress(source))


# ---------------------------------------------------------------------------------------------------------------
# A client over real sockets
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]  # names lower-cased

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body!r})"


class Http:
    """JSON over HTTP/1.1 with urllib. API Gateway's stage throttle (a 429 carrying x-amzn-ErrorType: THROTTLED,
    shared by the whole session) is retried after a pause, as a well-behaved client does; every other answer,
    including the API's own 429s, is returned as it came."""

    def __init__(self, base_url: str, token: str | None = None, username: str | None = None,
                 source: str | None = None):
        self.base_url, self.token, self.username, self.source = base_url, token, username, source

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, token: str | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", "Accept": "application/json"}
        token = token if token is not None else self.token
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        for attempt in range(40):
            reply = self._send(method, path, data, sent)
            if not (reply.status == 429 and reply.headers.get("x-amzn-errortype") == "THROTTLED"):
                return reply
            time.sleep(min(0.05 * (attempt + 1), 0.5))
        return reply

    def _send(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> Reply:
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with _opener(self.source).open(request, timeout=60) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        text = payload.decode("utf-8")
        try:
            body: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            body = text
        return Reply(status, body, {k.lower(): v for k, v in got.items()})

    def as_user(self, token: str, username: str | None = None) -> Http:
        return Http(self.base_url, token, username, self.source)

    def login(self, username: str, password: str) -> Http:
        reply = self.call("POST", "/api/v1/auth/login", {"username": username, "password": password}, token="")
        assert reply.status == 200, reply
        return self.as_user(reply.body["access_token"], username)

    def register(self, role: str, tenant: str | None, username: str | None = None) -> Reply:
        username = username or f"{role}-{uuid.uuid4().hex[:8]}"
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD, "role": role}
        if tenant is not None:
            body["tenant_id"] = tenant
        return self.call("POST", "/api/v1/auth/register", body)

    def create_user(self, role: str, tenant: str) -> Http:
        reply = self.register(role, tenant)
        assert reply.status == 201, reply
        assert (reply.body["role"], reply.body["tenant_id"]) == (role, tenant)
        return self.login(reply.body["username"], PASSWORD)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        reply = self.call(method, path, body, **kwargs)
        assert reply.status == status, (method, path, reply)
        return reply.body

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/api/v1/deployments/{deployment_id}")

    def deployments(self, **query: Any) -> list[dict[str, Any]]:
        params = "&".join(f"{k}={v}" for k, v in {"limit": 200, **query}.items())
        return self.ok("GET", f"/api/v1/deployments?{params}")["items"]

    def events(self, deployment_id: str) -> list[str]:
        return [e["type"] for e in self.ok("GET", f"/api/v1/deployments/{deployment_id}/events")["items"]]

    def resources(self, deployment_id: str | None = None) -> list[dict[str, Any]]:
        """Every page of the tenant's (or the deployment's) resources."""
        found, after = [], None
        while True:
            query = urllib.parse.urlencode({k: v for k, v in (("deployment_id", deployment_id), ("after", after)) if v})
            page = self.ok("GET", "/api/v1/cloud/resources" + (f"?{query}" if query else ""))
            found += page["items"]
            if (after := page["next_after"]) is None:
                return found

    def reports(self, deployment_id: str | None = None) -> list[dict[str, Any]]:
        query = f"?deployment_id={deployment_id}" if deployment_id else ""
        return self.ok("GET", f"/api/v1/drift/reports{query}")["items"]

    def wait_for(self, wanted: dict[str, str | set[str]], timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Poll the tenant's list (one request per round) until each deployment id is in its wanted status."""
        targets = {i: {w} if isinstance(w, str) else w for i, w in wanted.items()}
        deadline = time.monotonic() + timeout
        while True:
            seen = {d["id"]: d for d in self.deployments()}
            late = {i: seen.get(i, {}).get("status") for i, w in targets.items() if seen.get(i, {}).get("status")
                    not in w}
            if not late:
                return {i: seen[i] for i in targets}
            stuck = {i: s for i, s in late.items() if s in SETTLED}
            assert not stuck, f"settled in an unexpected status: {[(i, seen[i]['error_message']) for i in stuck]}"
            assert time.monotonic() < deadline, f"still not there after {timeout}s: {late}"
            time.sleep(0.2)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def small_intent(name: str, *, count: int = 1, auto_approve: bool = True, **overrides: Any) -> dict[str, Any]:
    """`count` independent AWS networks with names of their own, so no two deployments share a resource."""
    stem = "r" + uuid.uuid4().hex[:10]
    body = {"name": name, "description": "HTTP API test", "target_providers": ["aws"], "environment": "staging",
            "auto_approve": auto_approve,
            "resources": [{"resource_type": "network", "provider": "aws", "region": "us-east-1",
                           "name": f"{stem}-{i}", "properties": {"cidr": f"10.{i}.0.0/16"}, "tags": {"team": "qa"}}
                          for i in range(count)]}
    body.update(overrides)
    return body


def audit_trail(steps: int) -> list[str]:
    """The events of an auto-approved deployment of `steps` resources, in order."""
    return ["created", "planning_started", "plan_generated", "approved", "execution_started",
            *["step_succeeded"] * steps, "verification_started", "verified", "completed"]


def parallel(calls: Iterable[Callable[[], Any]], workers: int = 16) -> list[Any]:
    with ThreadPoolExecutor(workers) as pool:
        return [future.result() for future in [pool.submit(c) for c in calls]]


# ---------------------------------------------------------------------------------------------------------------
# Users of every role in two tenants
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Tenant:
    name: str
    users: dict[str, Http]


@pytest.fixture(scope="module")
def root(local_cloud) -> Http:
    """The bootstrap admin (tenant 'default'), logged in over HTTP."""
    assert local_cloud.api_url, "the local cloud runs without its HTTP server"
    creds = local_cloud.admin_credentials()
    return Http(local_cloud.api_url).login(creds["username"], creds["password"])


@pytest.fixture(scope="module")
def tenants(root: Http) -> dict[str, Tenant]:
    """Tenants 'a' and 'b', each with a logged-in user of every role, created by the bootstrap admin."""
    suffix = uuid.uuid4().hex[:8]
    names = {key: f"http-{key}-{suffix}" for key in ("a", "b")}
    pairs = [(key, role) for key in names for role in ROLES]
    users = parallel([lambda k=k, r=r: root.create_user(r, names[k]) for k, r in pairs], workers=8)
    made = dict(zip(pairs, users, strict=True))
    return {key: Tenant(name, {role: made[key, role] for role in ROLES}) for key, name in names.items()}


def test_bootstrap_admin_creates_users_of_every_role_in_two_tenants(tenants: dict[str, Tenant]):
    for tenant in tenants.values():
        for role, user in tenant.users.items():
            me = user.ok("GET", "/api/v1/auth/me")
            assert (me["role"], me["tenant_id"], me["username"]) == (role, tenant.name, user.username)
            assert "password" not in json.dumps(me)


def test_admin_of_another_tenant_may_create_users_only_in_its_own_tenant(tenants: dict[str, Tenant]):
    admin_a, b = tenants["a"].users["admin"], tenants["b"].name
    username = _unique("smuggled")
    refused = admin_a.register("admin", b, username)
    assert refused.status == 403 and refused.body["code"] == "forbidden", refused
    assert Http(admin_a.base_url).call("POST", "/api/v1/auth/login",
                                       {"username": username, "password": PASSWORD}).status == 401
    own = admin_a.register("viewer", None)  # no tenant named: the admin's own
    assert own.status == 201 and own.body["tenant_id"] == tenants["a"].name, own


# ---------------------------------------------------------------------------------------------------------------
# The permission matrix: every mutating route x every role
# ---------------------------------------------------------------------------------------------------------------

# Who may call each mutating route (domain/users.py's matrix, stated here independently).
MATRIX: dict[str, set[str]] = {
    "create": {"admin", "operator", "deployer"},
    "speculative-plan": {"admin", "operator", "deployer"},
    "approve": {"admin", "operator"},
    "reject": {"admin", "operator"},
    "cancel": {"admin", "operator"},
    "execute": {"admin", "operator"},
    "replan": {"admin", "operator", "deployer"},
    "rollback": {"admin", "operator"},
    "drift-scan": {"admin", "operator"},
    "drift-remediate": {"admin", "operator"},
    "resource-patch": {"admin", "operator"},
    "resource-delete": {"admin", "operator"},
    "register": {"admin"},
}
DECISIONS = ("approve", "reject", "cancel", "execute")


@dataclass
class Stage:
    """Tenant 'a' prepared so that each (route, role) case has a target of its own in the state where the action
    is legal: only the permission can decide."""

    awaiting: dict[tuple[str, str], str] = field(default_factory=dict)  # (decision, role) -> deployment
    rollbackable: dict[str, str] = field(default_factory=dict)  # role -> completed deployment
    replannable: dict[str, str] = field(default_factory=dict)  # role -> rejected deployment
    drifted: str = ""  # completed deployment whose network was changed out of band
    reports: dict[str, str] = field(default_factory=dict)  # role (and "isolation") -> report with drift
    patchable: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> resource
    deletable: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> resource
    isolated: str = ""  # awaiting deployment used by the isolation test
    spare_awaiting: str = ""  # awaiting deployment nobody acts on (illegal-state checks)


@pytest.fixture(scope="module")
def stage(tenants: dict[str, Tenant]) -> Stage:
    operator = tenants["a"].users["operator"]
    plan: list[tuple[str, Any, dict[str, Any]]] = []  # (slot, key, intent)
    for decision in DECISIONS:
        for role in ROLES:
            plan.append(("awaiting", (decision, role), small_intent(f"{decision}-{role}", auto_approve=False)))
    for role in ROLES:
        plan.append(("rollbackable", role, small_intent(f"rollback-{role}")))
        plan.append(("replannable", role, small_intent(f"replan-{role}", auto_approve=False)))
    plan.append(("drifted", None, small_intent("drifted")))
    plan.append(("resources", None, small_intent("console", count=8)))
    plan.append(("isolated", None, small_intent("isolated", auto_approve=False)))
    plan.append(("spare_awaiting", None, small_intent("spare", auto_approve=False)))

    created = parallel([lambda i=i: operator.ok("POST", "/api/v1/deployments", i, status=201)["id"]
                        for _, _, i in plan])
    wanted = {d: ("completed" if intent["auto_approve"] else "awaiting_approval")
              for (_, _, intent), d in zip(plan, created, strict=True)}
    operator.wait_for(wanted, timeout=90)

    stage = Stage()
    for (slot, key, _), deployment_id in zip(plan, created, strict=True):
        if slot == "awaiting":
            stage.awaiting[key] = deployment_id
        elif slot in ("rollbackable", "replannable"):
            getattr(stage, slot)[key] = deployment_id
        elif slot == "resources":
            resources = sorted(operator.resources(deployment_id), key=lambda r: r["name"])
            assert len(resources) == 8
            stage.patchable = dict(zip(ROLES, resources[:4], strict=True))
            stage.deletable = dict(zip(ROLES, resources[4:], strict=True))
        else:
            setattr(stage, slot, deployment_id)
    for deployment_id in stage.replannable.values():
        operator.ok("POST", f"/api/v1/deployments/{deployment_id}/reject", {"reason": "to re-plan"})
    network = operator.resources(stage.drifted)[0]
    operator.ok("PATCH", f"/api/v1/cloud/resources/{network['id']}", {"properties": {"cidr": "192.168.0.0/16"}})
    for owner in (*ROLES, "isolation"):
        report = operator.ok("POST", "/api/v1/drift/scan", {"deployment_id": stage.drifted})
        assert report["has_drift"], report
        stage.reports[owner] = report["id"]
    return stage


@dataclass
class Attempt:
    method: str
    path: str
    body: Any
    success: int
    # The state a refused request must leave unchanged, read by the tenant's operator.
    observe: Callable[[Http], Any]
    # Whether a granted request did what it should, given its reply.
    done: Callable[[Http, Reply], bool]


def _status_is(expected: str) -> Callable[[Http, Reply], bool]:
    return lambda _, reply: reply.body["status"] == expected


def _attempt(route: str, role: str, stage: Stage, tenant: Tenant) -> Attempt:
    def status_of(deployment_id: str) -> Callable[[Http], Any]:
        return lambda user: user.deployment(deployment_id)["status"]

    def resource(resource_id: str) -> Callable[[Http], Any]:
        return lambda user: next((r for r in user.resources() if r["id"] == resource_id), None)

    d = "/api/v1/deployments"
    if route == "create":
        name = _unique(f"created-by-{role}")
        return Attempt("POST", d, small_intent(name), 201,
                       lambda user: [x["id"] for x in user.deployments() if x["name"] == name],
                       lambda user, reply: [x["id"] for x in user.deployments() if x["name"] == name]
                       == [reply.body["id"]])
    if route == "speculative-plan":
        name = _unique(f"planned-by-{role}")
        return Attempt("POST", "/api/v1/plans", small_intent(name, count=2), 200,
                       lambda user: [x["id"] for x in user.deployments() if x["name"] == name],
                       lambda user, reply: reply.body["summary"]["by_action"] == {"create": 2}
                       and not [x for x in user.deployments() if x["name"] == name])
    if route in DECISIONS:
        target = stage.awaiting[route, role]
        body = {"reason": "not now"} if route == "reject" else ({"comment": "ok"} if route == "approve" else None)
        expected = {"approve": "approved", "execute": "approved", "reject": "rejected", "cancel": "cancelled"}[route]
        return Attempt("POST", f"{d}/{target}/{route}", body, 200, status_of(target), _status_is(expected))
    if route == "replan":
        target = stage.replannable[role]
        return Attempt("POST", f"{d}/{target}/plan", None, 200, status_of(target), _status_is("pending"))
    if route == "rollback":
        target = stage.rollbackable[role]
        return Attempt("POST", f"{d}/{target}/rollback", None, 200, status_of(target), _status_is("rolling_back"))
    if route == "drift-scan":
        return Attempt("POST", "/api/v1/drift/scan", {"deployment_id": stage.drifted}, 200,
                       lambda user: len(user.reports(stage.drifted)),
                       lambda user, reply: reply.body["has_drift"] and reply.body["id"] in {
                           r["id"] for r in user.reports(stage.drifted)})
    if route == "drift-remediate":
        report = stage.reports[role]

        def remediation(user: Http) -> Any:
            return next(r for r in user.reports(stage.drifted) if r["id"] == report)["remediation_deployment_id"]

        def remediated(user: Http, reply: Reply) -> bool:
            return remediation(user) == reply.body["id"] and reply.body["status"] == "pending"

        return Attempt("POST", f"/api/v1/drift/reports/{report}/remediate", None, 201, remediation, remediated)
    if route == "resource-patch":
        target = stage.patchable[role]["id"]
        return Attempt("PATCH", f"/api/v1/cloud/resources/{target}", {"tags": {"changed-by": role}}, 200,
                       resource(target), lambda user, reply: resource(target)(user)["tags"] == {"changed-by": role})
    if route == "resource-delete":
        target = stage.deletable[role]["id"]
        return Attempt("DELETE", f"/api/v1/cloud/resources/{target}", None, 204, resource(target),
                       lambda user, reply: resource(target)(user) is None)
    if route == "register":
        username = _unique(f"made-by-{role}")

        def can_log_in(_: Http) -> bool:
            return Http(tenant.users["admin"].base_url).call(
                "POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD}).status == 200

        return Attempt("POST", "/api/v1/auth/register", {
            "username": username, "email": f"{username}@example.com", "password": PASSWORD, "role": "viewer"},
            201, can_log_in, lambda user, reply: reply.body["tenant_id"] == tenant.name and can_log_in(user))
    raise AssertionError(route)


MATRIX_CASES = [pytest.param(route, role, id=f"{route}-{role}-{'allowed' if role in allowed else 'forbidden'}")
                for route, allowed in MATRIX.items() for role in ROLES]


@pytest.mark.parametrize(("route", "role"), MATRIX_CASES)
def test_each_role_may_call_exactly_the_mutating_routes_its_permissions_grant(
        route: str, role: str, stage: Stage, tenants: dict[str, Tenant]):
    tenant = tenants["a"]
    caller, witness = tenant.users[role], tenant.users["operator"]
    attempt = _attempt(route, role, stage, tenant)
    before = attempt.observe(witness)
    reply = caller.call(attempt.method, attempt.path, attempt.body)
    if role in MATRIX[route]:
        assert reply.status == attempt.success, reply
        assert attempt.done(witness, reply), f"the granted request did not take effect: {reply}"
    else:
        assert reply.status == 403, reply
        assert reply.body["code"] == "forbidden" and f"'{role}'" in reply.body["message"], reply
        assert attempt.observe(witness) == before, "a refused request changed something"


# Routes that name a record in the path: (route, method, path template, body, the illegal-state target or None).
ADDRESSED = [
    ("approve", "POST", "/api/v1/deployments/{}/approve", None, "completed"),
    ("reject", "POST", "/api/v1/deployments/{}/reject", {"reason": "no"}, "completed"),
    ("cancel", "POST", "/api/v1/deployments/{}/cancel", None, "completed"),
    ("execute", "POST", "/api/v1/deployments/{}/execute", None, "completed"),
    ("replan", "POST", "/api/v1/deployments/{}/plan", None, "completed"),
    ("rollback", "POST", "/api/v1/deployments/{}/rollback", None, "awaiting"),
    ("drift-remediate", "POST", "/api/v1/drift/reports/{}/remediate", None, None),
    ("resource-patch", "PATCH", "/api/v1/cloud/resources/{}", {"tags": {"x": "y"}}, None),
    ("resource-delete", "DELETE", "/api/v1/cloud/resources/{}", None, None),
]


@pytest.mark.parametrize(("route", "method", "template", "body", "illegal"),
                         [pytest.param(*a, id=a[0]) for a in ADDRESSED])
@pytest.mark.parametrize("role", ROLES)
def test_missing_permission_is_answered_before_unknown_ids_and_illegal_states(
        route: str, method: str, template: str, body: Any, illegal: str | None, role: str, stage: Stage,
        tenants: dict[str, Tenant]):
    caller = tenants["a"].users[role]
    allowed = role in MATRIX[route]
    unknown = caller.call(method, template.format(uuid.uuid4()), body)
    assert unknown.status == (404 if allowed else 403), unknown
    if illegal is not None:
        target = stage.spare_awaiting if illegal == "awaiting" else stage.drifted
        wrong_state = caller.call(method, template.format(target), body)
        assert wrong_state.status == (409 if allowed else 403), wrong_state
        if allowed:
            assert wrong_state.body["code"] == "action_not_allowed" and "current" in wrong_state.body["details"]


@pytest.mark.parametrize(("route", "method", "path", "body", "granted_role"), [
    pytest.param("create", "POST", "/api/v1/deployments", {}, "operator", id="create-empty-intent"),
    pytest.param("approve", "POST", "/api/v1/deployments/{}/approve", {"unexpected": 1}, "operator",
                 id="approve-unknown-field"),
    pytest.param("reject", "POST", "/api/v1/deployments/{}/reject", {}, "operator", id="reject-without-reason"),
    pytest.param("drift-scan", "POST", "/api/v1/drift/scan", {}, "operator", id="scan-without-deployment"),
    pytest.param("resource-patch", "PATCH", "/api/v1/cloud/resources/{}", {"unexpected": 1}, "operator",
                 id="patch-unknown-field"),
    pytest.param("register", "POST", "/api/v1/auth/register", {}, "admin", id="register-empty"),
])
def test_missing_permission_is_answered_before_the_body_is_validated(
        route: str, method: str, path: str, body: Any, granted_role: str, stage: Stage,
        tenants: dict[str, Tenant]):
    users = tenants["a"].users
    target = {"approve": stage.spare_awaiting, "reject": stage.spare_awaiting,
              "resource-patch": stage.patchable["viewer"]["id"]}.get(route, "")
    path = path.format(target)
    refused = users["viewer"].call(method, path, body)
    assert refused.status == 403 and refused.body["code"] == "forbidden", refused
    invalid = users[granted_role].call(method, path, body)
    assert invalid.status == 422 and invalid.body["code"] == "validation_error", invalid
    assert users["operator"].deployment(stage.spare_awaiting)["status"] == "awaiting_approval"


# ---------------------------------------------------------------------------------------------------------------
# Tenant isolation
# ---------------------------------------------------------------------------------------------------------------

def test_another_tenants_records_are_unknown_and_never_listed(stage: Stage, tenants: dict[str, Tenant]):
    owner, stranger = tenants["a"].users["operator"], tenants["b"].users["admin"]  # admin: every permission
    target, report, resource = stage.isolated, stage.reports["isolation"], stage.patchable["operator"]
    assert owner.deployment(target)["status"] == "awaiting_approval"
    resource_before = next(r for r in owner.resources() if r["id"] == resource["id"])

    d = f"/api/v1/deployments/{target}"
    probes = [("GET", d, None), ("GET", f"{d}/events", None), ("GET", f"{d}/terraform", None),
              ("POST", f"{d}/approve", None), ("POST", f"{d}/reject", {"reason": "mine now"}),
              ("POST", f"{d}/cancel", None), ("POST", f"{d}/execute", None), ("POST", f"{d}/plan", None),
              ("POST", f"{d}/rollback", None), ("POST", "/api/v1/drift/scan", {"deployment_id": stage.drifted}),
              ("POST", f"/api/v1/drift/reports/{report}/remediate", None),
              ("PATCH", f"/api/v1/cloud/resources/{resource['id']}", {"tags": {"owner": "b"}}),
              ("DELETE", f"/api/v1/cloud/resources/{resource['id']}", None)]
    for method, path, body in probes:
        reply = stranger.call(method, path, body)
        assert reply.status == 404 and reply.body["code"] == "not_found", (method, path, reply)

    assert stranger.reports(stage.drifted) == [] and stranger.resources(stage.drifted) == []
    a_deployments = {d["id"] for d in owner.deployments()}
    b_deployments = stranger.deployments()
    assert all(d["tenant_id"] == tenants["b"].name for d in b_deployments)
    assert a_deployments.isdisjoint(d["id"] for d in b_deployments)
    assert {r["id"] for r in owner.reports()}.isdisjoint(r["id"] for r in stranger.reports())
    assert {r["id"] for r in owner.resources()}.isdisjoint(r["id"] for r in stranger.resources())
    # Nothing the stranger tried had an effect.
    assert owner.deployment(target)["status"] == "awaiting_approval"
    assert next(r for r in owner.resources() if r["id"] == resource["id"]) == resource_before
    assert next(r for r in owner.reports(stage.drifted) if r["id"] == report)["remediation_deployment_id"] is None


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------

def _locations(reply: Reply) -> set[tuple[str, str]]:
    assert reply.status == 422 and reply.body["code"] == "validation_error", reply
    details = reply.body["details"]
    assert all(set(d) == {"loc", "location", "msg", "type"} and d["msg"] for d in details), details
    assert all(d["location"] == ".".join(str(p) for p in d["loc"]) for d in details), details
    assert reply.body["message"].startswith(f"{len(details)} invalid field(s)")
    return {(d["location"], d["type"]) for d in details}


def _net(name: str, region: str = "us-east-1", provider: str = "aws", *deps: str) -> dict[str, Any]:
    return {"resource_type": "network", "provider": provider, "region": region, "name": name,
            "dependencies": list(deps)}


def test_an_invalid_intent_gets_422_listing_every_field_error_at_once(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    intent = {"name": "broken", "description": "every rule broken once", "target_providers": ["aws"],
              "resources": [
                  _net("a", "mars-1"),  # no such region
                  _net("b", "us-east-1", "aws", "aws/us-east-1/network/c"),  # b -> c -> b: a cycle
                  _net("c", "us-east-1", "aws", "aws/us-east-1/network/b", "aws/us-east-1/network/ghost"),
                  _net("d", "us-central1", "gcp"),  # provider not targeted
                  _net("b"),  # the same identifier twice
              ]}
    before = len(operator.deployments())
    assert _locations(operator.call("POST", "/api/v1/deployments", intent)) == {
        ("resources.0.region", "unknown_region"),
        ("resources.2.dependencies.1", "unknown_dependency"),
        ("resources.1.dependencies", "dependency_cycle"),
        ("resources.3.provider", "provider_not_targeted"),
        ("resources.4.name", "duplicate"),
    }
    assert len(operator.deployments()) == before


def test_structural_and_cross_field_errors_come_back_in_one_422(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    intent = {"name": "broken", "target_providers": ["aws"], "environment": "moon",  # no description
              "resources": [_net("a", "mars-1"),
                            _net("b", "us-east-1", "aws", "aws/us-east-1/network/c"),
                            _net("c", "us-east-1", "aws", "aws/us-east-1/network/b", "aws/us-east-1/network/ghost")]}
    found = _locations(operator.call("POST", "/api/v1/deployments", intent))
    assert {("description", "missing"), ("environment", "enum"), ("resources.0.region", "unknown_region"),
            ("resources.1.dependencies", "dependency_cycle")} <= found, found


@pytest.mark.parametrize(("raw", "why"), [
    pytest.param(b'{"name": "x",', "malformed JSON", id="truncated-json"),
    pytest.param(b"{'name': 'x'}", "malformed JSON", id="single-quoted-json"),
])
def test_a_body_that_is_not_json_gets_400(raw: bytes, why: str, tenants: dict[str, Tenant]):
    reply = tenants["a"].users["operator"].call("POST", "/api/v1/deployments", raw=raw)
    assert reply.status == 400 and reply.body["code"] == "malformed_request", reply
    assert why in reply.body["message"]


@pytest.mark.parametrize(("raw", "kind"), [
    pytest.param(b'[{"name": "x"}]', "model_type", id="array-body"),
    pytest.param(b'"an intent"', "model_type", id="string-body"),
    pytest.param(b"", "missing", id="empty-body"),
])
def test_json_that_is_not_an_object_gets_422_located_at_the_body(raw: bytes, kind: str,
                                                                  tenants: dict[str, Tenant]):
    reply = tenants["a"].users["operator"].call("POST", "/api/v1/deployments", raw=raw)
    assert _locations(reply) == {("body", kind)}


@pytest.mark.parametrize(("query", "location", "kind"), [
    pytest.param("status=bogus", "query.status", "enum", id="unknown-status"),
    pytest.param("environment=moon", "query.environment", "enum", id="unknown-environment"),
    pytest.param("limit=0", "query.limit", "greater_than_equal", id="limit-zero"),
    pytest.param("limit=201", "query.limit", "less_than_equal", id="limit-too-large"),
    pytest.param("limit=ten", "query.limit", "int_parsing", id="limit-not-a-number"),
    pytest.param("offset=-1", "query.offset", "greater_than_equal", id="negative-offset"),
    pytest.param("limt=10", "query.limt", "extra_forbidden", id="misspelt-parameter"),
])
def test_unknown_list_query_values_get_422_naming_the_parameter(query: str, location: str, kind: str,
                                                                 tenants: dict[str, Tenant]):
    reply = tenants["a"].users["viewer"].call("GET", f"/api/v1/deployments?{query}")
    assert (location, kind) in _locations(reply)


def test_every_bad_list_query_value_is_reported_in_one_422(tenants: dict[str, Tenant]):
    reply = tenants["a"].users["viewer"].call("GET", "/api/v1/deployments?status=bogus&limit=0&environment=moon")
    assert _locations(reply) == {("query.status", "enum"), ("query.limit", "greater_than_equal"),
                                 ("query.environment", "enum")}


# ---------------------------------------------------------------------------------------------------------------
# Malformed input: never a 5xx, always our error shape
# ---------------------------------------------------------------------------------------------------------------

def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def _intent_with_resource(**resource: Any) -> bytes:
    body = small_intent(_unique("malformed"))
    body["resources"][0].update(resource)
    return json.dumps(body).encode()


def _intent_raw(text_of_max_concurrency: str) -> bytes:
    body = json.dumps(small_intent(_unique("malformed"), max_concurrency=0))
    return body.replace('"max_concurrency": 0', f'"max_concurrency": {text_of_max_concurrency}').encode()


MALFORMED = [  # (raw body, extra headers, status, code, a location or message fragment)
    pytest.param(json.dumps(small_intent("x", target_providers=[{}])).encode(), {}, 422, "validation_error",
                 "target_providers.0", id="provider-an-object"),
    pytest.param(json.dumps(small_intent("x", target_providers=[[]])).encode(), {}, 422, "validation_error",
                 "target_providers.0", id="provider-a-list"),
    pytest.param(json.dumps(small_intent("x", target_regions=[{}], parameters=[])).encode(), {}, 422,
                 "validation_error", "target_regions.0", id="region-an-object"),
    pytest.param(_intent_with_resource(properties=_nested(900)), {}, 400, "malformed_request", "nested",
                 id="properties-900-deep"),
    pytest.param(_intent_with_resource(properties=_nested(70)), {}, 400, "malformed_request", "nested",
                 id="properties-70-deep"),
    pytest.param(b"[" * 100_000, {}, 400, "malformed_request", "nested", id="100k-brackets"),
    pytest.param(_intent_raw("1" * 5000), {}, 422, "validation_error", "max_concurrency", id="5000-digit-integer"),
    pytest.param(_intent_with_resource(properties={"n": 0}).replace(b'"n": 0', b'"n": ' + b"9" * 5000), {}, 422,
                 "validation_error", "resources.0.properties.n", id="5000-digit-property"),
    pytest.param(_intent_raw("1e400"), {}, 422, "validation_error", "max_concurrency", id="float-overflow"),
    pytest.param(_intent_with_resource(properties={"n": 0}).replace(b'"n": 0', b'"n": -1e400'), {}, 422,
                 "validation_error", "resources.0.properties.n", id="float-overflow-property"),
    pytest.param(_intent_raw("NaN"), {}, 400, "malformed_request", "NaN", id="nan-literal"),
    pytest.param(json.dumps(small_intent("x")).encode(), {"Content-Type": "text/plain"}, 415,
                 "unsupported_media_type", "application/json", id="text-plain"),
    pytest.param(json.dumps(small_intent("x")).encode(), {"Content-Type": "application/x-www-form-urlencoded"},
                 415, "unsupported_media_type", "application/json", id="form-encoded"),
    pytest.param(json.dumps(small_intent("x")).encode(), {"Idempotency-Key": ""}, 422, "validation_error",
                 "header.idempotency-key", id="empty-idempotency-key"),
    pytest.param(json.dumps(small_intent("x")).encode(), {"Idempotency-Key": "k" * 300}, 422, "validation_error",
                 "header.idempotency-key", id="overlong-idempotency-key"),
    pytest.param(b'{"name": "caf\xe9"}', {}, 400, "malformed_request", "UTF-8", id="latin-1-body"),
    pytest.param(_intent_with_resource(properties={"k": "a\u0000b"}), {}, 422, "validation_error",
                 "resources.0.properties.k", id="nul-in-a-property"),
    pytest.param(_intent_with_resource(properties={"k": 1}).replace(b'"k"', b'"\\ud800"'), {}, 422,
                 "validation_error", "resources.0.properties.\ud800", id="lone-surrogate-key"),
]


def _said(reply: Reply, fragment: str) -> bool:
    locations = [d.get("location") for d in reply.body.get("details") or [] if isinstance(d, dict)] \
        if isinstance(reply.body.get("details"), list) else []
    return fragment in locations or fragment in reply.body["message"]


@pytest.mark.parametrize(("raw", "headers", "status", "code", "said"), MALFORMED)
def test_a_malformed_create_gets_its_4xx_in_the_error_shape_and_stores_nothing(
        raw: bytes, headers: dict[str, str], status: int, code: str, said: str, tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    before = len(operator.deployments())
    reply = operator.call("POST", "/api/v1/deployments", raw=raw, headers=headers)
    assert reply.status == status, reply
    assert isinstance(reply.body, dict) and {"message", "code"} <= set(reply.body) <= {"message", "code", "details"}
    assert reply.body["code"] == code and _said(reply, said), reply
    assert reply.headers["content-type"] == "application/json"
    assert len(operator.deployments()) == before


@pytest.mark.parametrize(("raw", "headers", "status", "code"), [
    pytest.param(b"[" * 100_000, {}, 400, "malformed_request", id="100k-brackets"),
    pytest.param(b'{"username": "a", "password": ' + b"1" * 5000 + b"}", {}, 422, "validation_error",
                 id="5000-digit-password"),
    pytest.param(b'{"username": "a", "password": "b"}', {"Content-Type": "text/plain"}, 415,
                 "unsupported_media_type", id="text-plain"),
    pytest.param(b'{"username": "\xff"}', {}, 400, "malformed_request", id="not-utf-8"),
])
def test_a_malformed_login_gets_its_4xx_without_a_token(raw: bytes, headers: dict[str, str], status: int, code: str,
                                                        local_cloud):
    reply = Http(local_cloud.api_url).call("POST", "/api/v1/auth/login", raw=raw, headers=headers, token="")
    assert reply.status == status and reply.body["code"] == code, reply


@pytest.mark.parametrize("path", ["/api/v1/drift/reports?deployment_id=%00",
                                  "/api/v1/cloud/resources?deployment_id=%00",
                                  "/api/v1/deployments?limit=" + "9" * 5000])
def test_a_malformed_query_value_gets_422(path: str, tenants: dict[str, Tenant]):
    reply = tenants["a"].users["viewer"].call("GET", path)
    assert reply.status == 422 and reply.body["details"][0]["loc"][0] == "query", reply


def test_a_json_content_type_with_a_charset_or_a_json_suffix_is_accepted(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        reply = operator.call("POST", "/api/v1/deployments", small_intent(_unique("typed"), auto_approve=False),
                              headers={"Content-Type": content_type})
        assert reply.status == 201, (content_type, reply)


# ---------------------------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def signing(local_cloud) -> dict[str, str]:
    """The deployed token key (from the emulator's Secrets Manager, as the authorizer reads it), issuer, audience."""
    arn = local_cloud.deployed.secret_arns["JwtSigningSecret"]
    secret = local_cloud.emulator.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    env = local_cloud.deployed.environment
    return {"key": json.loads(secret)["key"], "iss": env["JWT_ISSUER"], "aud": env["JWT_AUDIENCE"]}


def _claims(user: Http, signing: dict[str, str], **changes: Any) -> dict[str, Any]:
    me = user.ok("GET", "/api/v1/auth/me")
    now = int(time.time())
    claims = {"sub": me["id"], "username": me["username"], "role": me["role"], "tenant_id": me["tenant_id"],
              "iss": signing["iss"], "aud": signing["aud"], "iat": now, "exp": now + 600}
    claims.update(changes)
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_minted_with_the_deployed_key_is_accepted(tenants: dict[str, Tenant], signing: dict[str, str]):
    """The control for the refusals below: the same claims and key, nothing wrong, pass the gateway."""
    viewer = tenants["a"].users["viewer"]
    token = jwt.encode(_claims(viewer, signing), signing["key"], algorithm="HS256")
    assert viewer.call("GET", "/api/v1/auth/me", token=token).status == 200


@pytest.mark.parametrize("defect", ["no-token", "not-a-bearer-header", "garbage", "expired", "wrong-audience",
                                    "wrong-issuer", "another-key", "alg-none", "hs512"])
def test_the_gateway_refuses_a_bad_token_with_its_401_response(defect: str, tenants: dict[str, Tenant],
                                                                signing: dict[str, str]):
    viewer = tenants["a"].users["viewer"]
    key, headers, token = signing["key"], None, None
    if defect == "no-token":
        token = ""
    elif defect == "not-a-bearer-header":
        headers = {"Authorization": f"Basic {base64.b64encode(b'viewer:secret').decode()}"}
    elif defect == "garbage":
        token = "not.a.jwt"
    elif defect == "expired":
        token = jwt.encode(_claims(viewer, signing, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
                           key, algorithm="HS256")
    elif defect == "wrong-audience":
        token = jwt.encode(_claims(viewer, signing, aud="someone-else"), key, algorithm="HS256")
    elif defect == "wrong-issuer":
        token = jwt.encode(_claims(viewer, signing, iss="https://evil.example"), key, algorithm="HS256")
    elif defect == "another-key":
        token = jwt.encode(_claims(viewer, signing), "k" * 64, algorithm="HS256")
    elif defect == "alg-none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(viewer, signing, role='admin'))}."
    elif defect == "hs512":
        token = jwt.encode(_claims(viewer, signing), key, algorithm="HS512")
    reply = viewer.call("GET", "/api/v1/deployments", token=token, headers=headers)
    assert reply.status == 401 and reply.body == GATEWAY_UNAUTHORIZED, reply
    assert reply.headers["content-type"] == "application/json"


def test_login_fails_alike_for_an_unknown_user_and_a_wrong_password(tenants: dict[str, Tenant]):
    anonymous = Http(tenants["a"].users["viewer"].base_url)
    wrong_user = anonymous.call("POST", "/api/v1/auth/login", {"username": _unique("nobody"), "password": PASSWORD})
    wrong_password = anonymous.call("POST", "/api/v1/auth/login", {"username": tenants["a"].users["viewer"].username,
                                                                   "password": "not-the-password"})
    assert wrong_user.status == wrong_password.status == 401
    assert wrong_user.body == wrong_password.body == {"message": "invalid username or password",
                                                      "code": "unauthorized"}


def test_failed_logins_lock_the_user_out_from_that_address_only(root: Http, tenants: dict[str, Tenant]):
    """Five failures lock the username for the address they came from; nobody can lock another user out."""
    victim = root.create_user("viewer", tenants["a"].name)
    attacker = Http(root.base_url, source="127.0.0.2")
    wrong = {"username": victim.username, "password": "guessing-wrongly"}
    statuses = [attacker.call("POST", "/api/v1/auth/login", wrong).status for _ in range(5)]
    assert statuses == [401] * 5
    right = {"username": victim.username, "password": PASSWORD}
    locked = attacker.call("POST", "/api/v1/auth/login", right)
    assert locked.status == 429 and locked.body["code"] == "throttled", locked
    assert int(locked.headers["retry-after"]) > 0
    assert "x-amzn-errortype" not in locked.headers  # the API's lockout, not the stage throttle
    assert victim.call("GET", "/api/v1/auth/me").status == 200  # tokens already issued still work
    assert Http(root.base_url).call("POST", "/api/v1/auth/login", right).status == 200  # from the victim's address


def test_an_address_failing_logins_for_many_users_is_throttled(root: Http, tenants: dict[str, Tenant]):
    from orchestrator.usecases.auth import MAX_FAILED_LOGINS_PER_ADDRESS

    user = root.create_user("viewer", tenants["a"].name)
    sprayer = Http(root.base_url, source="127.0.0.3")
    guesses = [{"username": _unique("sprayed"), "password": "Summer2026!"}
               for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS)]
    assert [sprayer.call("POST", "/api/v1/auth/login", g).status for g in guesses] == [401] * len(guesses)
    right = {"username": user.username, "password": PASSWORD}
    throttled = sprayer.call("POST", "/api/v1/auth/login", right)
    assert throttled.status == 429 and int(throttled.headers["retry-after"]) > 0, throttled
    assert Http(root.base_url).call("POST", "/api/v1/auth/login", right).status == 200


# ---------------------------------------------------------------------------------------------------------------
# API tokens, logout, refresh, key rotation
# ---------------------------------------------------------------------------------------------------------------

def test_an_api_token_is_shown_once_works_as_a_bearer_token_and_stops_when_revoked(root: Http,
                                                                                   tenants: dict[str, Tenant]):
    operator = root.create_user("operator", tenants["b"].name)
    created = operator.call("POST", "/api/v1/auth/tokens", {"name": "ci-deploy", "role": "deployer",
                                                             "expires_in_days": 30})
    assert created.status == 201, created
    assert set(created.body) == {"id", "name", "role", "created_at", "expires_at", "token"}
    assert created.body["token"].startswith("orch_") and created.body["role"] == "deployer"
    assert created.headers["location"] == f"/api/v1/auth/tokens/{created.body['id']}"
    machine = operator.as_user(created.body["token"])
    me = machine.ok("GET", "/api/v1/auth/me")
    assert (me["username"], me["tenant_id"]) == (operator.username, tenants["b"].name)
    deployed = machine.ok("POST", "/api/v1/deployments", small_intent(_unique("by-token"), auto_approve=False),
                          status=201)
    assert deployed["initiated_by"] == operator.username
    # The token's role, not its creator's: a deployer may not approve.
    assert machine.call("POST", f"/api/v1/deployments/{deployed['id']}/approve").status == 403

    listed = operator.ok("GET", "/api/v1/auth/tokens")["items"]
    assert [t["id"] for t in listed] == [created.body["id"]] and "token" not in listed[0]
    assert "token" not in operator.ok("GET", f"/api/v1/auth/tokens/{created.body['id']}")
    assert created.body["token"] not in json.dumps(listed)

    # A token's secret is kept nowhere but in its creation's answer: not even for an Idempotency-Key's replay.
    key = {"Idempotency-Key": _unique("token-key")}
    first = operator.call("POST", "/api/v1/auth/tokens", {"name": "keyed", "role": "viewer"}, headers=key)
    second = operator.call("POST", "/api/v1/auth/tokens", {"name": "keyed", "role": "viewer"}, headers=key)
    assert first.status == second.status == 201 and first.body["token"] != second.body["token"]
    assert "idempotent-replayed" not in second.headers
    for extra in (first, second):
        assert operator.call("DELETE", f"/api/v1/auth/tokens/{extra.body['id']}").status == 204

    assert operator.call("DELETE", f"/api/v1/auth/tokens/{created.body['id']}").status == 204
    refused = machine.call("GET", "/api/v1/auth/me")
    assert refused.status == 401 and refused.body == GATEWAY_UNAUTHORIZED, refused
    assert all(t["revoked_at"] for t in operator.ok("GET", "/api/v1/auth/tokens")["items"])


@pytest.mark.parametrize(("body", "status"), [
    pytest.param({"name": "too-strong", "role": "admin", "expires_in_days": 30}, 403, id="role-above-the-callers"),
    pytest.param({"name": "too-long", "role": "viewer", "expires_in_days": 366}, 422, id="more-than-a-year"),
    pytest.param({"name": "", "role": "viewer"}, 422, id="no-name"),
    pytest.param({"name": "x", "role": "root"}, 422, id="unknown-role"),
])
def test_a_token_cannot_outrank_or_outlive_what_is_allowed(body: dict[str, Any], status: int,
                                                            tenants: dict[str, Tenant]):
    operator = tenants["b"].users["operator"]
    reply = operator.call("POST", "/api/v1/auth/tokens", body)
    assert reply.status == status, reply


def test_one_user_cannot_see_or_revoke_anothers_token(tenants: dict[str, Tenant]):
    owner, other = tenants["b"].users["operator"], tenants["b"].users["admin"]
    token = owner.ok("POST", "/api/v1/auth/tokens", {"name": "mine", "role": "viewer"}, status=201)
    assert token["id"] not in {t["id"] for t in other.ok("GET", "/api/v1/auth/tokens")["items"]}
    assert other.call("DELETE", f"/api/v1/auth/tokens/{token['id']}").status == 404
    assert owner.as_user(token["token"]).call("GET", "/api/v1/auth/me").status == 200


def test_logout_revokes_the_session_token_and_refresh_replaces_it(root: Http, tenants: dict[str, Tenant]):
    user = root.create_user("viewer", tenants["b"].name)
    fresh = user.ok("POST", "/api/v1/auth/refresh")
    assert fresh["access_token"] != user.token
    assert user.call("GET", "/api/v1/auth/me").status == 401  # the refreshed-away token is revoked
    session = user.as_user(fresh["access_token"])
    assert session.ok("GET", "/api/v1/auth/me")["username"] == user.username
    assert session.call("POST", "/api/v1/auth/logout").status == 204
    assert session.call("GET", "/api/v1/auth/me").status == 401


# ---------------------------------------------------------------------------------------------------------------
# Idempotency and concurrency
# ---------------------------------------------------------------------------------------------------------------

def test_the_same_idempotency_key_returns_the_first_deployment(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    name, key = _unique("idempotent"), {"Idempotency-Key": _unique("key")}
    body = small_intent(name, auto_approve=False)
    first = operator.call("POST", "/api/v1/deployments", body, headers=key)
    again = operator.call("POST", "/api/v1/deployments", body, headers=key)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"], (first, again)
    assert [d["id"] for d in operator.deployments() if d["name"] == name] == [first.body["id"]]


def test_a_replayed_create_is_marked_and_names_the_same_location(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    key = {"Idempotency-Key": _unique("key")}
    body = small_intent(_unique("replayed"), auto_approve=False)
    first = operator.call("POST", "/api/v1/deployments", body, headers=key)
    again = operator.call("POST", "/api/v1/deployments", body, headers=key)
    assert first.headers["location"] == again.headers["location"] == f"/api/v1/deployments/{first.body['id']}"
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert operator.call("GET", first.headers["location"]).body["id"] == first.body["id"]
    other_body = operator.call("POST", "/api/v1/deployments", small_intent(_unique("other")), headers=key)
    assert other_body.status == 422 and other_body.body["code"] == "idempotency_key_reused", other_body


def test_idempotency_keys_belong_to_their_user(tenants: dict[str, Tenant]):
    """Two users of one tenant who happen to pick the same key each get their own deployment."""
    users = tenants["a"].users
    key = {"Idempotency-Key": _unique("shared-key")}
    mine = users["operator"].call("POST", "/api/v1/deployments", small_intent(_unique("mine"), auto_approve=False),
                                  headers=key)
    theirs = users["admin"].call("POST", "/api/v1/deployments", small_intent(_unique("theirs"), auto_approve=False),
                                 headers=key)
    assert mine.status == theirs.status == 201, (mine, theirs)
    assert mine.body["id"] != theirs.body["id"] and theirs.body["initiated_by"] == users["admin"].username
    assert "idempotent-replayed" not in theirs.headers


def test_a_retried_approve_answers_as_the_first_one_did(tenants: dict[str, Tenant]):
    operator, admin = tenants["a"].users["operator"], tenants["a"].users["admin"]
    created = operator.ok("POST", "/api/v1/deployments", small_intent(_unique("retried"), auto_approve=False),
                          status=201)
    operator.wait_for({created["id"]: "awaiting_approval"})
    key = {"Idempotency-Key": _unique("approve")}
    first = admin.call("POST", f"/api/v1/deployments/{created['id']}/approve", {"comment": "ok"}, headers=key)
    again = admin.call("POST", f"/api/v1/deployments/{created['id']}/approve", {"comment": "ok"}, headers=key)
    assert first.status == again.status == 200 and again.body == first.body, (first, again)
    assert again.headers["idempotent-replayed"] == "true"
    unkeyed = admin.call("POST", f"/api/v1/deployments/{created['id']}/approve", {"comment": "ok"})
    assert unkeyed.status == 409  # without the key it is a second approval, refused by the lifecycle


def test_etag_and_if_none_match_spare_an_unchanged_read(tenants: dict[str, Tenant]):
    operator = tenants["a"].users["operator"]
    created = operator.ok("POST", "/api/v1/deployments", small_intent(_unique("etag"), auto_approve=False),
                          status=201)
    path = f"/api/v1/deployments/{created['id']}"
    settled = operator.wait_for({created["id"]: "awaiting_approval"})
    assert settled
    read = operator.call("GET", path)
    tag = read.headers["etag"]
    assert tag.startswith('"') and operator.call("GET", path).headers["etag"] == tag  # stable while unchanged
    unchanged = operator.call("GET", path, headers={"If-None-Match": tag})
    assert unchanged.status == 304 and unchanged.body is None and unchanged.headers["etag"] == tag
    operator.ok("POST", f"{path}/reject", {"reason": "changed"})
    changed = operator.call("GET", path, headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["etag"] != tag and changed.body["status"] == "rejected"


def test_if_match_refuses_an_action_on_a_stale_version_with_412(tenants: dict[str, Tenant]):
    operator, admin = tenants["a"].users["operator"], tenants["a"].users["admin"]
    created = operator.ok("POST", "/api/v1/deployments", small_intent(_unique("if-match"), auto_approve=False),
                          status=201)
    path = f"/api/v1/deployments/{created['id']}"
    operator.wait_for({created["id"]: "awaiting_approval"})
    tag = operator.call("GET", path).headers["etag"]
    stale = admin.call("POST", f"{path}/approve", None, headers={"If-Match": '"not-the-current-version"'})
    assert stale.status == 412 and stale.body["code"] == "precondition_failed", stale
    assert stale.body["details"]["current_etag"] == tag == stale.headers["etag"]
    assert operator.deployment(created["id"])["status"] == "awaiting_approval"
    fresh = admin.call("POST", f"{path}/approve", None, headers={"If-Match": tag})
    assert fresh.status == 200 and fresh.body["status"] in ("approved", "executing", "verifying", "completed"), fresh


def test_twenty_concurrent_deployments_all_complete_with_a_complete_audit_trail(root: Http):
    tenant = _unique("http-c")
    operator = root.create_user("operator", tenant)
    intents = [small_intent(f"concurrent-{i:02d}", count=10) for i in range(20)]
    replies = parallel([lambda b=b: operator.call("POST", "/api/v1/deployments", b) for b in intents], workers=20)
    assert [r.status for r in replies] == [201] * 20, [r for r in replies if r.status != 201]
    ids = [r.body["id"] for r in replies]
    assert len(set(ids)) == 20
    done = operator.wait_for(dict.fromkeys(ids, "completed"), timeout=120)
    assert sorted(d["name"] for d in done.values()) == sorted(i["name"] for i in intents)

    trails = parallel([lambda i=i: operator.events(i) for i in ids], workers=10)
    for deployment_id, trail in zip(ids, trails, strict=True):
        assert trail == audit_trail(steps=10), (deployment_id, trail)
    assert len(operator.resources()) == 200


# ---------------------------------------------------------------------------------------------------------------
# OpenAPI, Swagger UI, health
# ---------------------------------------------------------------------------------------------------------------

def test_openapi_document_lists_the_api_and_the_intent_body_schema(local_cloud):
    reply = Http(local_cloud.api_url).call("GET", "/openapi.json", token="")
    assert reply.status == 200 and isinstance(reply.body, dict), reply
    assert reply.body["openapi"].startswith("3.")
    paths = reply.body["paths"]
    assert {"/api/v1/deployments", "/api/v1/deployments/{deployment_id}",
            "/api/v1/deployments/{deployment_id}/approve", "/api/v1/deployments/{deployment_id}/reject",
            "/api/v1/deployments/{deployment_id}/cancel", "/api/v1/deployments/{deployment_id}/execute",
            "/api/v1/deployments/{deployment_id}/plan", "/api/v1/deployments/{deployment_id}/rollback",
            "/api/v1/deployments/{deployment_id}/events", "/api/v1/deployments/{deployment_id}/terraform",
            "/api/v1/drift/scan", "/api/v1/drift/reports", "/api/v1/drift/reports/{report_id}/remediate",
            "/api/v1/cloud/resources", "/api/v1/cloud/resources/{resource_id}", "/api/v1/auth/login",
            "/api/v1/auth/register", "/api/v1/auth/me", "/api/v1/plans"} <= set(paths)
    body = paths["/api/v1/deployments"]["post"]["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/DeploymentIntent"
    intent = reply.body["components"]["schemas"]["DeploymentIntent"]
    assert {"name", "description", "target_providers", "resources"} <= set(intent["required"])
    assert {"environment", "auto_approve", "max_concurrency"} <= set(intent["properties"])
    assert "ResourceSpec" in reply.body["components"]["schemas"]
    assert reply.body["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


SECRET_ANSWERS = {"/api/v1/auth/login", "/api/v1/auth/tokens", "/api/v1/auth/refresh", "/api/v1/notifications"}
# A speculative plan changes nothing: a retry is as safe as the first request, so nothing is kept to replay.
UNKEYED = SECRET_ANSWERS | {"/api/v1/plans"}


def test_openapi_document_is_the_typed_contract(local_cloud):
    """Generated from the routes: OpenAPI 3.1, the local server URL, bearer auth, query parameters, and for every
    operation its success schema and each error status with the error model."""
    document = Http(local_cloud.api_url).call("GET", "/openapi.json", token="").body
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "/"}]
    assert document["security"] == [{"bearer": []}]
    listing = document["paths"]["/api/v1/deployments"]["get"]
    assert {p["name"] for p in listing["parameters"] if p["in"] == "query"} == {"status", "environment", "limit",
                                                                                "offset"}
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = operation["responses"]
            assert any(s.startswith("2") for s in statuses), (method, path)
            for status, response in statuses.items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == error_ref or path == \
                        "/health/ready", (method, path, status)
            if path.startswith("/api/v1/") and path != "/api/v1/auth/login":
                assert {"401", "429"} <= set(statuses), (method, path)
            keyed = "idempotency-key" in {p["name"] for p in operation.get("parameters", [])}
            if method == "post" and path.startswith("/api/v1/"):
                # Answers holding a secret (a token) are never stored for replay, so those routes take no key.
                assert keyed == (path not in UNKEYED), path
    create = document["paths"]["/api/v1/deployments"]["post"]["responses"]["201"]
    assert "Location" in create["headers"]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DeploymentOut"}
    swagger = Http(local_cloud.api_url).call("GET", "/docs", token="").body
    assert '"url": "/"' in swagger and '"bearer"' in swagger  # Swagger UI embeds the same document


def test_swagger_ui_is_served_as_html_without_a_token(local_cloud):
    reply = Http(local_cloud.api_url).call("GET", "/docs", token="")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html"), reply
    assert "swagger" in reply.body.lower()
    as_json = Http(local_cloud.api_url).call("GET", "/docs?format=json", token="")
    assert as_json.status == 200 and as_json.body["paths"] == Http(local_cloud.api_url).call(
        "GET", "/openapi.json", token="").body["paths"]


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_liveness_answers_200_without_a_token(path: str, local_cloud):
    reply = Http(local_cloud.api_url).call("GET", path, token="")
    assert reply.status == 200 and reply.body == {"status": "ok"}, reply


def _ready(base_url: str) -> Reply:
    return Http(base_url).call("GET", "/health/ready", token="")


def test_readiness_reports_each_dependency_and_follows_a_valkey_outage(local_cloud, server_control, root: Http,
                                                                      tenants: dict[str, Tenant]):
    ready = _ready(local_cloud.api_url)
    assert ready.status == 200 and ready.body["status"] == "ok", ready
    checks = ready.body["checks"]
    assert set(checks) == {"postgresql", "redis", "stepfunctions"}
    assert all(c["status"] == "ok" and c["latency_ms"] >= 0 for c in checks.values()), checks

    # Nothing of this module may be running while Valkey is away (its locks would fail the run).
    operator = tenants["a"].users["operator"]
    running = {d["id"]: SETTLED | {"awaiting_approval"} for d in operator.deployments()
               if d["status"] not in SETTLED | {"awaiting_approval"}}
    operator.wait_for(running, timeout=60)

    server_control.stop_redis()
    try:
        down = _ready(local_cloud.api_url)
        assert down.status == 503 and down.body["status"] == "unavailable", down
        assert down.body["checks"]["redis"]["status"] == "unavailable" and down.body["checks"]["redis"]["error"]
        assert down.body["checks"]["postgresql"]["status"] == "ok"
        # Logging in does not need Valkey: the failed-login counters degrade open.
        anonymous = Http(local_cloud.api_url)
        wrong = anonymous.call("POST", "/api/v1/auth/login", {"username": operator.username, "password": "nope"})
        assert wrong.status == 401, wrong
        during = anonymous.login(operator.username, PASSWORD)
        assert during.ok("GET", "/api/v1/auth/me")["username"] == operator.username
        # Whatever needs Valkey answers 503 naming it, not 500: a creation with an Idempotency-Key.
        keyed = during.call("POST", "/api/v1/deployments", small_intent(_unique("during-outage")),
                            headers={"Idempotency-Key": _unique("key")})
        assert keyed.status == 503 and keyed.body["details"] == {"dependency": "redis"}, keyed
        assert keyed.headers.get("retry-after")
    finally:
        server_control.start_redis()

    deadline = time.monotonic() + 20
    while (again := _ready(local_cloud.api_url)).status != 200:
        assert time.monotonic() < deadline, f"still not ready: {again}"
        time.sleep(0.2)
    assert again.body["checks"]["redis"]["status"] == "ok"
    # The process-wide client reconnected: logins and a whole deployment (locks, idempotency) work again.
    relogged = Http(local_cloud.api_url).login(operator.username, PASSWORD)
    created = relogged.ok("POST", "/api/v1/deployments", small_intent(_unique("after-outage"), count=2), status=201)
    relogged.wait_for({created["id"]: "completed"}, timeout=60)
