"""HTTP conventions every route follows, in one place: Idempotency-Key on POSTs, ETag / If-None-Match on reads,
If-Match on actions, Location on creations, and the server's base URL (with the stage in AWS)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from .. import idempotency
from ..auth.tokens import InvalidToken
from .context import current_user, header


class PreconditionFailed(Exception):
    """If-Match named another version than the current one (HTTP 412)."""

    def __init__(self, current: str):
        self.current = current
        super().__init__("the resource changed since the version named in If-Match; read it again and retry")


def base_path(app: BaseRouter) -> str:
    """"/Prod" when called on API Gateway's own endpoint (https://{id}.execute-api.{region}.amazonaws.com/Prod), ""
    behind a custom domain or the local cloud: requestContext.path is the path the client used."""
    context = app.current_event.request_context
    stage = context.stage
    if stage and stage != "$default" and (context.path or "").startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""


def created_at(app: BaseRouter, path: str, body: Any) -> Response:
    """201 with the new record, and its URL (`path` under /api/v1, behind the stage if any) in Location."""
    return Response(status_code=201, content_type="application/json", body=body,
                    headers={"Location": f"{base_path(app)}{path}"})


def no_content() -> Response:
    return Response(status_code=204, content_type=None, body="")


def etag_of(body: Any) -> str:
    """A strong validator of a JSON representation: equal bodies, equal tags."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def _tags(value: str | None) -> set[str]:
    return {part.strip().removeprefix("W/") for part in (value or "").split(",") if part.strip()}


def check_if_match(if_match: str | None, current: Any) -> None:
    """For actions: a client that sends If-Match (the ETag it read) acts only on that version."""
    if if_match is None:
        return
    tag = etag_of(current)
    if "*" not in _tags(if_match) and tag not in _tags(if_match):
        raise PreconditionFailed(tag)


def etags(app: BaseRouter, next_middleware) -> Response:
    """GETs carry an ETag; a client whose If-None-Match holds it gets 304 without the body."""
    response = next_middleware(app)
    if app.current_event.http_method != "GET" or response.status_code != 200 or not isinstance(
            response.body, dict):
        return response
    tag = etag_of(response.body)
    response.headers["ETag"] = tag
    if tag in _tags(header(app, "If-None-Match")):
        return Response(status_code=304, headers={"ETag": tag}, body="")
    return response


def answers_with_a_secret(fn):
    """Marks a route whose answer holds a secret (a new token): it is never stored for replays, so the route takes
    no Idempotency-Key (secrets are kept nowhere but in that one answer)."""
    fn.answers_with_a_secret = True
    return fn


def changes_nothing(fn):
    """Marks a POST that only asks a question with a body (a speculative plan): a retry is as safe as the first
    request, so the route takes no Idempotency-Key and its answer is kept nowhere for replays."""
    fn.changes_nothing = True
    return fn


def idempotent_posts(app: BaseRouter, next_middleware) -> Response:
    """An authenticated POST with an Idempotency-Key answers once per (caller, path, key): a retry gets the first
    response back, marked `Idempotent-Replayed: true`. Errors are not stored, so a retry after one runs again."""
    key = header(app, "Idempotency-Key")
    route = app.context["_route"].func
    if (app.current_event.http_method != "POST" or key is None or getattr(route, "answers_with_a_secret", False)
            or getattr(route, "changes_nothing", False)):
        return next_middleware(app)
    try:
        caller = current_user(app).id
    except InvalidToken:  # a public route (login): nothing to scope a key by, and nothing to repeat
        return next_middleware(app)

    def run() -> dict[str, Any]:
        response = next_middleware(app)
        return {"status": response.status_code, "headers": dict(response.headers), "body": response.body,
                "content_type": response.content_type}

    request = {"scope": caller, "route": f"POST {app.current_event.path}", "key": key,
               "body": app.current_event.body or ""}
    stored = idempotency.once_per_request_key(request=request, run=run)
    return Response(status_code=stored["status"], content_type=stored.get("content_type"),
                    headers=stored.get("headers") or {}, body=stored["body"])
