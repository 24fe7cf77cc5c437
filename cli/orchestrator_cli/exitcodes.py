"""Exit codes a script can rely on, and how HTTP statuses and deployment states map to them."""

from __future__ import annotations

OK = 0
FAILED = 1  # the deployment ended `failed`
INVALID = 2  # invalid input: local validation, a bad argument, HTTP 400/422
ROLLED_BACK = 3
REJECTED = 4
CANCELLED = 5
WAIT_TIMEOUT = 6  # --timeout elapsed while waiting; the deployment goes on
POLICY_BLOCKED = 7  # the deployment ended `failed` because a policy blocked its plan
UNAUTHORIZED = 10  # 401, or no stored token
FORBIDDEN = 11  # 403
NOT_FOUND = 12  # 404
CONFLICT = 13  # 409: the deployment is not in a state that allows the action
THROTTLED = 14  # 429
UNAVAILABLE = 15  # 5xx, connection refused, timeout
INTERNAL = 70  # a bug in the CLI itself (run with --debug for the traceback)
INTERRUPTED = 130  # Ctrl-C
# `orchestrator plan FILE`, as `terraform plan -detailed-exitcode`: 0 no changes, CHANGES, and any error 1.
CHANGES = 2
PLAN_ERROR = 1

# Final deployment state -> exit code (states a workflow can end in).
BY_STATUS: dict[str, int] = {
    "completed": OK,
    "failed": FAILED,
    "rolled_back": ROLLED_BACK,
    "rejected": REJECTED,
    "cancelled": CANCELLED,
}
TERMINAL = frozenset(BY_STATUS)

_BY_HTTP: dict[int, int] = {
    400: INVALID,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
    413: INVALID,
    422: INVALID,
    429: THROTTLED,
}


def for_http_status(status: int) -> int:
    """The exit code of an API error reply."""
    if status in _BY_HTTP:
        return _BY_HTTP[status]
    if status >= 500:
        return UNAVAILABLE
    return INVALID  # any other 4xx: the request was wrong


def for_deployment_status(status: str) -> int:
    """The exit code of a deployment's final state (0 for a state that is not final: nothing went wrong yet)."""
    return BY_STATUS.get(status, OK)


def for_deployment(deployment: dict) -> int:
    """Like for_deployment_status, but a failure because policy blocked the plan has its own code: the intent
    must change, a retry will not help."""
    status = str(deployment.get("status"))
    if status == "failed" and (deployment.get("plan") or {}).get("blocked"):
        return POLICY_BLOCKED
    return for_deployment_status(status)


EPILOG = """\
exit codes:
   0  success (a waited-for deployment completed)
   1  the deployment ended failed
   2  invalid input (local validation of the intent, bad arguments, HTTP 400/422)
   3  the deployment was rolled back
   4  the deployment was rejected
   5  the deployment was cancelled
   6  --timeout elapsed while waiting (the deployment goes on)
   7  a policy blocked the plan (the deployment ended failed; change the intent)
  10  unauthorized (HTTP 401, or not logged in): run `orchestrator login`
  11  forbidden (HTTP 403): your role may not do this
  12  not found (HTTP 404)
  13  conflict (HTTP 409): the deployment's state does not allow this
  14  throttled (HTTP 429)
  15  server error or unavailable (HTTP 5xx, connection refused, timeout)
  70  unexpected error in the CLI (re-run with --debug)
 130  interrupted (Ctrl-C); a deployment being waited for goes on

`orchestrator plan FILE` (an intent file, or - for standard input) exits as `terraform plan -detailed-exitcode`:
   0  the intent changes nothing
   2  the intent would change something (even when policy would block it)
   1  any error (invalid intent, HTTP error, ...), not the codes above

environment:
  ORCHESTRATOR_API_URL    default for --api-url (http://127.0.0.1:3000)
  ORCHESTRATOR_TOKEN      bearer token to use instead of the stored one (--token wins)
  NO_COLOR                any value: no colours or styles (as --no-color)
  XDG_CONFIG_HOME         credentials live in $XDG_CONFIG_HOME/orchestrator/credentials.json
"""
