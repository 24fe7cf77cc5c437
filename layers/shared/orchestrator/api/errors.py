"""Domain errors to HTTP responses, in one place. Bodies are JSON {"message", "code", "details"?}."""

from __future__ import annotations

from typing import Any

from ..auth.tokens import InvalidToken
from ..domain import errors as e

STATUS: list[tuple[type[Exception], int]] = [
    (e.ValidationFailed, 422),
    (e.IdempotencyKeyReused, 422),
    (e.AuthenticationFailed, 401),
    (InvalidToken, 401),
    (e.PermissionDenied, 403),
    (e.NotFound, 404),
    (e.InvalidTransition, 409),
    (e.ActionNotAllowed, 409),
    (e.ConcurrencyConflict, 409),
    (e.PolicyBlocked, 409),
    (e.Throttled, 429),
    (e.DependencyUnavailable, 503),
    (e.LockBusy, 503),
]


class MalformedRequest(Exception):
    """The body is not JSON, or not the JSON type expected (HTTP 400)."""


class UnsupportedMediaType(Exception):
    """A body route was sent something other than JSON (HTTP 415)."""


def error_body(message: str, code: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code}
    if details is not None:
        body["details"] = details
    return body


def to_http(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, extra headers) for an error the API expects; unexpected errors are not mapped here."""
    if isinstance(exc, MalformedRequest):
        return 400, error_body(str(exc), "malformed_request"), {}
    if isinstance(exc, UnsupportedMediaType):
        return 415, error_body(str(exc), "unsupported_media_type"), {}

    for kind, status in STATUS:
        if isinstance(exc, kind):
            code = getattr(exc, "code", "unauthorized")
            headers: dict[str, str] = {}
            details: Any = None
            if isinstance(exc, e.ValidationFailed):
                details = [err.as_dict() for err in exc.errors]
                message = f"{len(exc.errors)} invalid field(s): {exc}"
            elif isinstance(exc, e.InvalidTransition):
                details = {"current": exc.current, "requested": exc.requested, "allowed": exc.allowed}
                message = str(exc)
            elif isinstance(exc, e.ActionNotAllowed):
                details = {"action": exc.action, "current": exc.current, "allowed_from": exc.allowed_from}
                message = str(exc)
            elif isinstance(exc, e.Throttled):
                headers["Retry-After"] = str(exc.retry_after_seconds)
                message = str(exc)
            elif isinstance(exc, e.DependencyUnavailable):
                details = {"dependency": getattr(exc, "dependency", "unknown")}
                message = f"{details['dependency']} is unavailable; try again shortly"
                headers["Retry-After"] = "5"
            else:
                message = str(exc)
            if status == 503:
                headers.setdefault("Retry-After", "1")  # a busy lock or a request still in progress
            return status, error_body(message, code, details), headers
    raise exc
