"""Notifications on the real local cloud: a webhook receiver on loopback gets signed POSTs of the events its
destination wants, a 500 is retried, and the outcomes are visible through the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from api_client import Api, intent

pytestmark = pytest.mark.integration


class Receiver:
    """Records every POST; answers 500 to the first `fail_first` of them, then 200."""

    def __init__(self, fail_first: int = 0):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                status = 500 if len(receiver.received) <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries arrived"
            time.sleep(0.05)
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(fail_first: int = 0) -> Receiver:
        made.append(Receiver(fail_first))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _destination(api: Api, url: str, events: list[str], fmt: str = "generic") -> dict:
    reply = api.call("POST", "/api/v1/notifications", {"name": "ops", "url": url, "events": events, "format": fmt})
    assert reply.status == 201, reply.body
    assert reply.headers["Location"].endswith(f"/api/v1/notifications/{reply.body['id']}")
    return reply.body


def test_a_completed_deployment_is_delivered_signed_and_retried_after_a_500(admin: Api, tenant: str, receiver):
    tenant_admin = admin.create_user("admin", tenant)
    hook = receiver(fail_first=1)
    destination = _destination(tenant_admin, hook.url, ["completed"])
    assert len(destination["secret"]) == 64

    created = tenant_admin.deploy(intent("notified"))
    assert tenant_admin.wait_for(created["id"], "completed")["status"] == "completed"

    (first_headers, first), (headers, raw) = hook.wait_for(2)
    assert raw == first  # the retry sends the same signed body
    expected = "sha256=" + hmac.new(destination["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-orchestrator-signature"] == expected
    assert headers["x-orchestrator-event"] == "completed"
    payload = json.loads(raw)
    assert (payload["event"], payload["deployment_id"], payload["status"], payload["tenant_id"]) == (
        "completed", created["id"], "completed", tenant)
    assert payload["at"]

    deadline = time.monotonic() + 10
    while True:
        deliveries = tenant_admin.call("GET", f"/api/v1/notifications/{destination['id']}/deliveries").body["items"]
        if deliveries:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [(d["event"], d["outcome"], d["attempts"], d["status_code"]) for d in deliveries] == [
        ("completed", "delivered", 2, 200)]

    listed = tenant_admin.call("GET", "/api/v1/notifications").body["items"]
    assert [d["id"] for d in listed] == [destination["id"]] and "secret" not in listed[0]


def test_only_wanted_events_of_the_own_tenant_arrive_and_slack_gets_text(admin: Api, tenant: str, receiver):
    tenant_admin = admin.create_user("admin", tenant)
    hook = receiver()
    _destination(tenant_admin, hook.url, ["awaiting_approval"], fmt="slack")
    other = admin.create_user("admin", tenant + "-other")
    other.deploy(intent("elsewhere", auto_approve=False))  # another tenant's: never delivered here

    created = tenant_admin.deploy(intent("needs-a-person", auto_approve=False))
    tenant_admin.wait_for(created["id"], "awaiting_approval")
    (headers, raw), = hook.wait_for(1)
    payload = json.loads(raw)
    assert headers["x-orchestrator-event"] == "awaiting_approval"
    assert payload["deployment_id"] == created["id"] and payload["text"].startswith("[staging] deployment ")
    time.sleep(1)
    assert len(hook.received) == 1  # neither the other tenant's approval nor this run's other events


def test_policy_blocked_is_delivered(admin: Api, tenant: str, receiver):
    tenant_admin = admin.create_user("admin", tenant)
    hook = receiver()
    _destination(tenant_admin, hook.url, ["policy_blocked", "failed"])
    blocked = intent("leaky", environment="production", resources=[
        {"resource_type": "storage", "provider": "aws", "region": "us-east-1", "name": "open",
         "properties": {"size": "small", "public_access": True}, "tags": {"owner": "x"}}])
    created = tenant_admin.deploy(blocked)
    assert tenant_admin.wait_for(created["id"], "failed")["plan"]["blocked"] is True
    (headers, raw), = hook.wait_for(1)
    assert headers["x-orchestrator-event"] == "policy_blocked" and json.loads(raw)["status"] == "failed"


def test_only_admins_manage_destinations_and_bad_input_names_the_field(admin: Api, tenant: str):
    operator = admin.create_user("operator", tenant)
    denied = operator.call("POST", "/api/v1/notifications", {"name": "x", "url": "https://example.com/h",
                                                             "events": ["completed"]})
    assert denied.status == 403
    assert operator.call("GET", "/api/v1/notifications").status == 403

    tenant_admin = admin.create_user("admin", tenant)
    for body, field in (({"name": "x", "url": "http://10.1.2.3/h", "events": ["completed"]}, "url"),
                        ({"name": "x", "url": "http://169.254.169.254/latest", "events": ["completed"]}, "url"),
                        ({"name": "x", "url": "ftp://example.com/h", "events": ["completed"]}, "url"),
                        ({"name": "x", "url": "https://example.com/h", "events": ["exploded"]}, "events"),
                        ({"name": "x", "url": "https://example.com/h", "events": []}, "events")):
        reply = tenant_admin.call("POST", "/api/v1/notifications", body)
        assert reply.status == 422, (body, reply.body)
        assert any(field in d["location"] for d in reply.body["details"]), reply.body

    created = _destination(tenant_admin, "https://example.com/h", ["drift_detected"])
    assert tenant_admin.call("DELETE", f"/api/v1/notifications/{created['id']}").status == 204
    assert tenant_admin.call("GET", f"/api/v1/notifications/{created['id']}").status == 404
    assert admin.call("GET", f"/api/v1/notifications/{created['id']}").status == 404  # another tenant's


def test_a_private_address_is_refused_at_delivery_in_aws():
    from orchestrator.adapters.http.webhooks import UrllibWebhookSender
    from orchestrator.ports.notifications import WebhookRefused

    with pytest.raises(WebhookRefused, match="loopback"):
        UrllibWebhookSender(allow_loopback=False).post("http://localhost:9/h", b"{}", {})
