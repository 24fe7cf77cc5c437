"""The Lambda runtime inside one execution environment: import the handler once (the init phase), then answer
invocations read from stdin, one JSON document per line, with one JSON line each on the result pipe.

Started as `python3.12 -I -S -u bootstrap.py RESULT_FD PATHS_JSON`: no site-packages and no PYTHON* variables, so
what is importable is the standard library, the function's code and its layers, in Lambda's order. stdout and
stderr are the function's log. Standard library only: nothing else is on the path.
"""

import importlib
import json
import os
import sys
import time
import traceback


class Context:
    """The attributes of Lambda's context object that handlers (and Powertools) read."""

    def __init__(self, request: dict, timeout_seconds: float):
        self.aws_request_id = request["request_id"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict:
    return {"errorMessage": str(exc), "errorType": error_type or type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__)}


def main() -> None:
    results = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    sys.path[:0] = json.loads(sys.argv[2])

    def send(message: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(json.dumps(message) + "\n")

    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    handler, init_error = None, None
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # as Lambda does: the environment stays up and every invocation reports it
        init_error = _error(exc, "Runtime.ImportModuleError")
        init_error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        traceback.print_exc()
    send({"ready": True})

    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    for line in sys.stdin:
        request = json.loads(line)
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id") or ""
        if init_error is not None:
            send({"error": init_error})
            continue
        try:
            result = handler(json.loads(request["payload"] or "{}"), Context(request, timeout))
        except Exception as exc:  # the Lambda service turns any exception into an error payload
            traceback.print_exc()
            send({"error": _error(exc)})
            continue
        try:
            send({"result": json.dumps(result)})
        except (TypeError, ValueError) as exc:
            send({"error": _error(exc, "Runtime.MarshalError")})
    # stdin closed: LocalStack is gone. Leave now, whatever threads the handler's libraries started.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
