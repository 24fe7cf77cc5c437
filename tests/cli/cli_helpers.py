"""Intents and steps shared by the CLI tests (imported as `cli_helpers`: pytest puts this folder on sys.path)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml


def write_intent(tmp_path: Path, intent: dict, suffix: str = ".yaml") -> str:
    """The intent as a YAML (or, with suffix ".json", JSON) file named after it; returns its path."""
    path = tmp_path / f"{intent['name']}{suffix}"
    path.write_text(yaml.safe_dump(intent) if suffix == ".yaml" else json.dumps(intent))
    return str(path)


def log_in(cli, tenant, role: str):
    """A user of `role` in `tenant`, logged in through the CLI (its token in the credentials file)."""
    user = tenant.user(role)
    assert cli("login", "--username", user.username, "--password-stdin", stdin=user.password + "\n").code == 0
    return user


def three_cloud_intent(name: str = "web", **overrides: Any) -> dict[str, Any]:
    """Network (AWS) -> database (GCP) and storage (Azure) -> compute (AWS): 4 steps in 3 waves."""
    body: dict[str, Any] = {
        "name": name, "description": "A web tier on three clouds", "target_providers": ["aws", "azure", "gcp"],
        "environment": "staging", "auto_approve": True,
        "resources": [
            {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "vpc",
             "properties": {"cidr": "10.0.0.0/16"}, "tags": {"team": "web"}},
            {"resource_type": "database", "provider": "gcp", "region": "us-central1", "name": "db",
             "properties": {"size": "medium", "encrypted": True}, "dependencies": ["aws/us-east-1/network/vpc"]},
            {"resource_type": "storage", "provider": "azure", "region": "westeurope", "name": "assets",
             "properties": {"public_access": False}},
            {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": "app",
             "properties": {"size": "small", "count": 2},
             "dependencies": ["aws/us-east-1/network/vpc", "gcp/us-central1/database/db"]},
        ],
    }
    body.update(overrides)
    return body


def failing_intent(name: str = "fails") -> dict[str, Any]:
    """Applying the compute step always fails: the workflow retries it, then rolls everything back."""
    body = three_cloud_intent(name)
    body["resources"][3]["properties"]["simulate"] = {"fail_apply": "always"}
    return copy.deepcopy(body)
