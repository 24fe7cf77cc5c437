"""What a fresh install needs before the first request: the schema, and an admin to log in with.

Runs from the `DatabaseMigrations` custom resource in AWS and from the local cloud at start-up.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from .observability import logger
from .settings import get_settings
from .usecases.auth import ensure_bootstrap_admin
from .wiring import services

RESPONSE_TIMEOUT_SECONDS = 10


def provision() -> dict[str, Any]:
    from .adapters.postgres.migrations import migrate  # psycopg: imported by the invocation that connects

    settings = get_settings()
    applied = migrate(settings)
    admin = settings.bootstrap_admin()
    created = None
    if admin is not None:
        created = ensure_bootstrap_admin(services().users, admin.username, admin.password, admin.email)
    return {"migrations_applied": applied, "bootstrap_admin_created": created is not None}


def handle_custom_resource(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFormation waits for our answer at ResponseURL; always send one, or the stack hangs for an hour."""
    status, data, reason = "SUCCESS", {}, "ok"
    try:
        if event.get("RequestType") in ("Create", "Update"):
            data = provision()
            logger.info("provisioned", extra=data)
    except Exception as exc:  # reported to CloudFormation, which rolls the stack back
        logger.exception("provisioning failed")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:500]
    body = json.dumps({
        "Status": status, "Reason": reason,
        "PhysicalResourceId": event.get("PhysicalResourceId") or "database-migrations",
        "StackId": event.get("StackId"), "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": {"MigrationsApplied": len(data.get("migrations_applied", []))},
    }).encode()
    url = event.get("ResponseURL")
    if url:
        request = urllib.request.Request(url, data=body, method="PUT",
                                         headers={"Content-Type": "", "Content-Length": str(len(body))})
        with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS):  # noqa: S310 - CloudFormation's URL
            pass
    return {"status": status, **data}
