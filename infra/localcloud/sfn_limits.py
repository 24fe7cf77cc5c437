"""Step Functions' limits and speed for moto's ASL engine (pinned in pyproject.toml).

AWS stops a Standard execution whose history passes 25,000 events (`States.Runtime`), and fails one whose state
input or output passes 256 KB (`States.DataLimitExceeded`); a Catch on `States.ALL` catches neither. moto counts
no events, and raises the data limit as an ordinary error that the definition's Catch takes (here: a rollback that
AWS would never run), so a plan that would die on AWS could pass every local test. Here every history event is
checked as it is recorded (the events carry each state's input and output, which is what AWS measures) and moto's
own size checks are made terminal: the execution fails the way AWS's does.

The engine also re-parses every JSONPath it evaluates; the parsed expressions are immutable, so they are cached.
"""

from __future__ import annotations

import functools
import json
from typing import Any

HISTORY_EVENT_LIMIT = 25_000
PAYLOAD_LIMIT_BYTES = 256 * 1024
_DATA_FIELDS = ("input", "output")
_TERMINAL_ERRORS = frozenset({"States.Runtime", "States.DataLimitExceeded"})


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
    _let_terminal_errors_leave_frames()
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
    _make_size_checks_terminal()


def _make_size_checks_terminal() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    for cls in (CommonStateField, StateTaskLambda, StateTaskService):
        verify = cls.__dict__["_verify_size_quota"]

        def terminal(self: Any, env: Any, value: Any, _verify: Any = verify) -> None:
            try:
                _verify(self, env=env, value=value)
            except FailureEventException:
                manager = env.event_manager
                root = getattr(manager, "limits_root_env", None)
                if root is not None and not getattr(manager, "limits_exceeded", False):
                    size = len(value.encode() if isinstance(value, str) else json.dumps(value).encode())
                    _fail(manager, root, "States.DataLimitExceeded",
                          f"The state/task '{self.name}' returned a result of {size} bytes, more than the "
                          f"maximum of {PAYLOAD_LIMIT_BYTES} bytes.")
                raise

        cls._verify_size_quota = terminal


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


def _let_terminal_errors_leave_frames() -> None:
    """A Map iteration or Parallel branch re-raises its frame's error under a custom error name, which the engine
    refuses for `States.` names; these two must pass through it to end the execution."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName

    checked = CustomErrorName.__init__

    def init(self: CustomErrorName, error_name: str | None) -> None:
        if error_name in _TERMINAL_ERRORS:
            ErrorName.__init__(self, error_name=error_name)
        else:
            checked(self, error_name)

    CustomErrorName.__init__ = init


def _cache_jsonpath_parsers() -> None:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(result_path.parse)

