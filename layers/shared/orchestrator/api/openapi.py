"""Request bodies in the OpenAPI document. Bodies are parsed by our own validators (so structural and semantic
errors come back together), so Powertools cannot see them: describe them here from the same pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..domain.intent import DeploymentIntent
from ..usecases.auth import Credentials, Registration
from ..usecases.requests import ApproveBody, RejectBody, ResourcePatch, ScanBody

BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("/api/v1/auth/login", "post"): Credentials,
    ("/api/v1/auth/register", "post"): Registration,
    ("/api/v1/deployments", "post"): DeploymentIntent,
    ("/api/v1/deployments/{deployment_id}/approve", "post"): ApproveBody,
    ("/api/v1/deployments/{deployment_id}/reject", "post"): RejectBody,
    ("/api/v1/drift/scan", "post"): ScanBody,
    ("/api/v1/cloud/resources/{resource_id}", "patch"): ResourcePatch,
}


def document_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for (path, method), model in BODIES.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
        operation["requestBody"] = {"required": method != "patch", "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    schema["security"] = [{"bearer": []}]
    return schema
