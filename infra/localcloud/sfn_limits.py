"""Step Functions' limits and speed for moto's ASL engine (pinned in pyproject.toml).

AWS stops a Standard execution whose history passes 25,000 events, and fails one whose state input or output
passes 256 KB (`States.DataLimitExceeded`); neither can be caught by the definition's Catch. moto enforces
neither, so a plan that would die on AWS would pass every local test. Here every history event is checked as it is
recorded (the events carry each state's input and output, which is what AWS measures), and the execution fails
the way AWS's does.

The engine also re-parses every JSONPath it evaluates; the parsed expressions are immutable, so they are cached.
"""

from __future__ import annotations

import functools
from typing import Any

HISTORY_EVENT_LIMIT = 25_000
PAYLOAD_LIMIT_BYTES = 256 * 1024
_DATA_FIELDS = ("input", "output")


def _largest_payload(event_details: Any) -> int:
    if not event_details:
        return 0
    largest = 0
    for body in event_details.values():
        if isinstance(body, dict):
            for field in _DATA_FIELDS:
                value = body.get(field)
                if isinstance(value, str):
                    largest = max(largest, len(value.encode()))
    return largest


def install() -> None:
    """Patch the engine once per process (idempotent)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(EventManager.add_event, "_enforces_limits", False):
        return
    _cache_jsonpath_parsers()
    add_event = EventManager.add_event

    @functools.wraps(add_event)
    def checked_add_event(self: EventManager, context: Any, event_type: Any, event_details: Any = None,
                          *args: Any, **kwargs: Any) -> int:
        root = getattr(self, "limits_root_env", None)
        if root is not None and not getattr(self, "limits_exceeded", False):
            recorded = len(self._history_event_list)
            size = _largest_payload(event_details)
            self.max_payload_bytes = max(getattr(self, "max_payload_bytes", 0), size)
            if recorded >= HISTORY_EVENT_LIMIT:
                _fail(self, root, "States.Runtime",
                      f"The execution reached the limit of {HISTORY_EVENT_LIMIT} events in its history.")
                return recorded
            if size > PAYLOAD_LIMIT_BYTES:
                _fail(self, root, "States.DataLimitExceeded",
                      f"The state/task '{_state_name(event_details)}' returned a result of {size} bytes, more "
                      f"than the maximum of {PAYLOAD_LIMIT_BYTES} bytes.")
                return recorded
        return add_event(self, context, event_type, event_details, *args, **kwargs)

    checked_add_event._enforces_limits = True  # type: ignore[attr-defined]
    EventManager.add_event = checked_add_event

    environment = ExecutionWorker._get_evaluation_environment

    @functools.wraps(environment)
    def environment_with_limits(self: ExecutionWorker) -> Any:
        env = environment(self)
        env.event_manager.limits_root_env = env
        return env

    ExecutionWorker._get_evaluation_environment = environment_with_limits


def _state_name(event_details: Any) -> str:
    for body in (event_details or {}).values():
        if isinstance(body, dict) and body.get("name"):
            return str(body["name"])
    return "?"


def _fail(manager: Any, root: Any, error: str, cause: str) -> None:
    """End the whole execution as FAILED (no Catch applies), as AWS does; later events are recorded unchecked, so
    the engine can still write its ExecutionFailed event."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails

    manager.limits_exceeded = True
    root.set_error(ExecutionFailedEventDetails(error=error, cause=cause))


def _cache_jsonpath_parsers() -> None:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(result_path.parse)

