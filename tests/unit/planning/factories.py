"""Small builders for planning tests: raw intents, validated intents, and live inventory records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.domain.intent import DeploymentIntent, validate_intent
from orchestrator.domain.resources import CloudResource

DEPLOYMENT = "dep-1"
TENANT = "tenant-1"
STACK = "checkout"  # the name `intent` gives its deployments
_OWN = object()


def res(name: str, rtype: str = "compute", provider: str = "aws", region: str | None = None, *,
        deps: Sequence[str] = (), properties: dict[str, Any] | None = None, tags: dict[str, str] | None = None,
        ) -> dict[str, Any]:
    region = region or {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}[provider]
    return {"resource_type": rtype, "provider": provider, "region": region, "name": name,
            "properties": properties or {}, "tags": tags if tags is not None else {"owner": "team-a"},
            "dependencies": list(deps)}


def ident(resource: dict[str, Any]) -> str:
    return f"{resource['provider']}/{resource['region']}/{resource['resource_type']}/{resource['name']}"


def intent(*resources: dict[str, Any], environment: str = "development", auto_approve: bool = False,
           max_concurrency: int = 10) -> DeploymentIntent:
    providers = sorted({r["provider"] for r in resources})
    return validate_intent({
        "name": "checkout", "description": "planning test", "target_providers": providers,
        "resources": list(resources), "environment": environment, "auto_approve": auto_approve,
        "max_concurrency": max_concurrency,
    })


def live(resource: dict[str, Any], *, properties: dict[str, Any] | None = None, tags: dict[str, str] | None = None,
         deployment_id: str | None = DEPLOYMENT, stack: Any = _OWN) -> CloudResource:
    """The inventory record of `resource` as applied, optionally with other properties or tags. Its stack is by
    default the one of the deployment that wrote it: ours, another one, or none for a record made by hand."""
    if stack is _OWN:
        stack = STACK if deployment_id == DEPLOYMENT else (f"stack-of-{deployment_id}" if deployment_id else None)
    return CloudResource(
        tenant_id=TENANT, provider=resource["provider"], region=resource["region"],
        resource_type=resource["resource_type"], name=resource["name"],
        provider_resource_id=f"prid-{resource['name']}",
        properties=properties if properties is not None else dict(resource["properties"]),
        tags=tags if tags is not None else dict(resource["tags"]), deployment_id=deployment_id, stack=stack,
    )
