"""Run Lambda handlers in this process, where the AWS emulator would otherwise start a Docker container.

moto executes state machines for real and ends every Lambda invocation in `LambdaFunction._invoke_lambda`, which
needs Docker. Replacing that one method with an import-and-call keeps everything else real: the ASL engine, its
Retry/Catch (matched on the exception's class name, as in AWS), the Lambda API and its error payloads.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionCode:
    """Where a function's code lives and which attribute handles events (`app.handler`)."""

    name: str
    code_dir: Path
    handler: str = "app.handler"
    timeout_seconds: int = 60
    memory_mb: int = 512


@dataclass
class LambdaContext:
    """What Powertools reads from the real context object."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessLambdaRuntime:
    """Registry of function name -> handler, and the replacement for moto's Docker invocation."""

    def __init__(self) -> None:
        self._functions: dict[str, FunctionCode] = {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._import_lock = threading.Lock()
        self._original: Callable | None = None
        self.invocations: dict[str, int] = {}

    def register(self, code: FunctionCode) -> None:
        self._functions[code.name] = code

    def handler_for(self, name: str) -> Callable[[Any, Any], Any]:
        handler = self._handlers.get(name)
        if handler is not None:
            return handler
        with self._import_lock:
            if name not in self._handlers:
                self._handlers[name] = self._load(self._functions[name])
            return self._handlers[name]

    @staticmethod
    def _load(code: FunctionCode) -> Callable[[Any, Any], Any]:
        module_file, _, attribute = code.handler.rpartition(".")
        path = code.code_dir / f"{module_file.replace('.', '/')}.py"
        # Every function's module is called `app`: give each a unique name so they do not replace each other.
        module_name = f"_lambda_{code.code_dir.name}_{module_file.replace('.', '_')}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load handler {code.handler} from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return getattr(module, attribute)

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]:
        """Call the handler; return (payload JSON, errored) as the Lambda service would."""
        code = self._functions[name]
        self.invocations[name] = self.invocations.get(name, 0) + 1
        context = LambdaContext(function_name=name, memory_limit_in_mb=code.memory_mb,
                                invoked_function_arn=arn, timeout_seconds=code.timeout_seconds)
        try:
            result = self.handler_for(name)(event, context)
            return json.dumps(result, default=str), False
        except Exception as exc:  # the Lambda service turns any exception into an error payload
            log.debug("function %s raised %s", name, type(exc).__name__, exc_info=True)
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
            }), True

    def install(self) -> None:
        """Route moto's Lambda invocations to this runtime (idempotent)."""
        from moto.awslambda.models import LambdaFunction

        if self._original is not None:
            return
        runtime = self
        self._original = LambdaFunction._invoke_lambda

        def _invoke_lambda(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            if function.function_name not in runtime._functions:
                return json.dumps({"errorType": "ResourceNotFoundException",
                                   "errorMessage": f"no local code for {function.function_name}"}), True, ""
            if isinstance(event, str | bytes):
                event = json.loads(event or "{}")
            payload, errored = runtime.invoke(function.function_name, function.function_arn, event or {})
            return payload, errored, ""

        LambdaFunction._invoke_lambda = _invoke_lambda

    def uninstall(self) -> None:
        from moto.awslambda.models import LambdaFunction

        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original
            self._original = None
