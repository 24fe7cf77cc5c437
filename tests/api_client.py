"""A small client for the API through the local cloud's gateway, used by the workflow and API tests."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from localcloud.cloud import LocalCloud

SETTLED = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    def __init__(self, cloud: LocalCloud, token: str | None = None):
        self.cloud, self.token = cloud, token

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        response = self.cloud.request(method, path, body=body, token=self.token, **kwargs)
        text = response.body.decode() if response.body else ""
        return Reply(response.status, json.loads(text) if text and text[0] in "[{" else text, response.headers)

    def as_user(self, token: str) -> Api:
        return Api(self.cloud, token)

    def login(self, username: str, password: str) -> Api:
        reply = self.call("POST", "/api/v1/auth/login", {"username": username, "password": password})
        assert reply.status == 200, reply.body
        return self.as_user(reply.body["access_token"])

    def create_user(self, role: str, tenant: str) -> Api:
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        password = "correct-horse-battery"
        reply = self.call("POST", "/api/v1/auth/register", {"username": username, "email": f"{username}@example.com",
                                                            "password": password, "role": role,
                                                            "tenant_id": tenant})
        assert reply.status == 201, reply.body
        return self.login(username, password)

    def deploy(self, intent: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        reply = self.call("POST", "/api/v1/deployments", intent, **kwargs)
        assert reply.status == 201, reply.body
        return reply.body

    def get(self, deployment_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/api/v1/deployments/{deployment_id}")
        assert reply.status == 200, reply.body
        return reply.body

    def wait_for(self, deployment_id: str, statuses: set[str] | str, timeout: float = 60) -> dict[str, Any]:
        wanted = {statuses} if isinstance(statuses, str) else statuses
        deadline = time.monotonic() + timeout
        while True:
            deployment = self.get(deployment_id)
            if deployment["status"] in wanted:
                return deployment
            assert time.monotonic() < deadline, f"still {deployment['status']} after {timeout}s: {deployment}"
            time.sleep(0.05)

    def pages(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paged collection, following next_cursor to the last page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {**query, **({"cursor": cursor} if cursor else {})}
            reply = self.call("GET", path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""))
            assert reply.status == 200, reply.body
            items += reply.body["items"]
            cursor = reply.body["next_cursor"]
            if cursor is None:
                return items

    def events(self, deployment_id: str) -> list[dict[str, Any]]:
        return self.pages(f"/api/v1/deployments/{deployment_id}/events", limit=1000)

    def steps(self, deployment_id: str, **query: Any) -> list[dict[str, Any]]:
        """Every step of the deployment in order (wave, then position), optionally filtered."""
        return self.pages(f"/api/v1/deployments/{deployment_id}/steps", **{"limit": 1000, **query})

    def resources(self, deployment_id: str | None = None) -> list[dict[str, Any]]:
        """Every page of the tenant's (or the deployment's) resources."""
        found, after = [], None
        while True:
            query = "&".join(f"{key}={value}" for key, value in (("deployment_id", deployment_id), ("after", after))
                             if value)
            reply = self.call("GET", "/api/v1/cloud/resources" + (f"?{query}" if query else ""))
            assert reply.status == 200, reply.body
            found += reply.body["items"]
            if (after := reply.body["next_after"]) is None:
                return found


def intent(name: str = "web", *, resources: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A small three-tier intent on AWS and GCP (network -> database, compute)."""
    body = {
        "name": name, "description": "A web tier for the tests", "target_providers": ["aws", "gcp"],
        "environment": "staging", "auto_approve": True,
        "resources": resources or [
            {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "vpc",
             "properties": {"cidr": "10.0.0.0/16"}, "tags": {"team": "web"}},
            {"resource_type": "database", "provider": "gcp", "region": "us-central1", "name": "db",
             "properties": {"size": "medium", "encrypted": True}, "tags": {"team": "web"},
             "dependencies": ["aws/us-east-1/network/vpc"]},
            {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": "app",
             "properties": {"size": "small", "count": 2}, "tags": {"team": "web"},
             "dependencies": ["aws/us-east-1/network/vpc", "gcp/us-central1/database/db"]},
        ],
    }
    body.update(overrides)
    return body
