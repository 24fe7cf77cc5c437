"""LocalStack's Lambda service without Docker: `HostRuntimeExecutor` is an execution environment that is a
python3.12 process on this host instead of a container.

LocalStack calls `prepare_version` when a function version is created (unzip its code and layers), `start` when
it needs a new environment (spawn the process; it imports the handler, Lambda's init phase), `invoke` for each
invocation it routes to that environment (one at a time), and `stop` when the environment is retired. The process
gets the function's environment as LocalStack computes it (the function's variables, credentials,
AWS_ENDPOINT_URL pointing back at LocalStack), its code directory and its layers' `python/` directories on
sys.path, and nothing from any venv; an invocation that outlives the function's timeout is killed and reported
as Lambda reports it. stdout and stderr are the invocation's log, which LocalStack writes to CloudWatch Logs.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import NAMESPACE
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

LOG = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


def interpreter(runtime: str | None) -> str:
    """The python for a `pythonX.Y` runtime: LAMBDA_HOST_PYTHONXY when set, this one when it is that version,
    else pythonX.Y on PATH."""
    version = (runtime or "").removeprefix("python")
    if not runtime or not runtime.startswith("python") or "." not in version:
        raise LambdaRuntimeException(f"the host runtime runs python runtimes only, not {runtime!r}")
    configured = os.environ.get(f"LAMBDA_HOST_PYTHON{version.replace('.', '')}")
    if configured:
        return configured
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable  # run with -I -S, so this venv's packages are not importable
    found = shutil.which(f"python{version}")
    if found is None:
        raise LambdaRuntimeException(f"no python{version} on PATH for the {runtime} runtime")
    return found


def _import_paths(function_version: FunctionVersion) -> list[str]:
    """sys.path entries in Lambda's order: the code (/var/task), then each layer as /opt/python would be."""
    paths = [str(function_version.config.code.get_unzipped_code_location())]
    for layer in function_version.config.layers:
        root = Path(layer.code.get_unzipped_code_location()) / "python"
        paths += [str(root / "lib" / function_version.config.runtime / "site-packages"), str(root)]
    return paths


def _text(value: object) -> str:
    return str(value.value if isinstance(value, Enum) else value)


class _Process:
    """One running environment process, with its result pipe read into a queue (None once it closes)."""

    def __init__(self, python: str, paths: list[str], environment: dict[str, str], cwd: str, log_path: Path):
        read_end, write_end = os.pipe()
        self.log_path = log_path
        command = [python, "-I", "-S", "-u", str(BOOTSTRAP), str(write_end), json.dumps(paths)]
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                          env=environment, cwd=cwd, pass_fds=(write_end,), start_new_session=True)
        os.close(write_end)
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(read_end,), daemon=True,
                                        name=f"lambda-host-{self.popen.pid}")
        self._reader.start()

    def _read(self, descriptor: int) -> None:
        with os.fdopen(descriptor) as pipe:
            for line in pipe:
                self.messages.put(json.loads(line))
        self.messages.put(None)

    def send(self, message: dict) -> None:
        self.popen.stdin.write((json.dumps(message) + "\n").encode())
        self.popen.stdin.flush()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)  # the handler's own children too
        self.popen.wait(timeout=10)


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._environment: dict[str, str] = {}
        self._process: _Process | None = None
        self._directory = Path(tempfile.mkdtemp(prefix=f"lambda-host-{id}-"))
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        code = self.function_version.config.code.get_unzipped_code_location()
        self._environment = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8",
            **{key: _text(value) for key, value in env_vars.items()},
            "LAMBDA_TASK_ROOT": str(code),
        }
        self._spawn()

    def _spawn(self) -> None:
        version = self.function_version
        self._process = _Process(interpreter(version.config.runtime), _import_paths(version), self._environment,
                                 str(version.config.code.get_unzipped_code_location()), self._directory / "log")
        try:
            ready = self._process.messages.get(timeout=config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        except queue.Empty:
            ready = None
        if not ready:
            self._process.kill()
            raise LambdaRuntimeException(f"environment {self.id} did not start: {self.get_logs()[-2000:]}")

    def stop(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.kill()
                self._process = None
        shutil.rmtree(self._directory, ignore_errors=True)

    # --- invocations -----------------------------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout = float(self.function_version.config.timeout)
        with self._lock:
            if self._process is None or not self._process.alive():  # killed by an earlier timeout
                self._spawn()
            process = self._process
            log_path = process.log_path
            offset = log_path.stat().st_size
            started = time.monotonic()
            try:
                process.send({"request_id": request_id, "invoked_function_arn": payload["invoked-function-arn"],
                              "payload": payload["payload"], "trace_id": payload.get("trace-id")})
                message = process.messages.get(timeout=timeout)
            except BrokenPipeError:  # it exited since the check above: reported below, as Lambda does
                message = None
            except queue.Empty:
                process.kill()
                message = {"error": {"errorType": "Sandbox.Timedout", "errorMessage": (
                    f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {request_id} Task timed out after {timeout:.2f} seconds")}}
            if message is None:
                code = process.popen.wait(timeout=10)
                message = {"error": {"errorType": "Runtime.ExitError",
                                     "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                                     f"exit status {code}"}}
            duration = (time.monotonic() - started) * 1000
            with log_path.open("rb") as log:
                log.seek(offset)
                output = log.read().decode("utf-8", errors="replace")
        logs = (f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n{output}"
                f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\n")
        if "error" in message:
            return InvocationResult(request_id, json.dumps(message["error"]).encode(), is_error=True, logs=logs)
        return InvocationResult(request_id, message["result"].encode(), is_error=False, logs=logs)

    def get_logs(self) -> str:
        try:
            return (self._directory / "log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- addresses: everything is on this host ---------------------------------------------------------------

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host

    def get_runtime_endpoint(self) -> str:
        return f"http://{self.get_endpoint_from_executor()}:{config.GATEWAY_LISTEN[0].port}{NAMESPACE}/{self.id}"

    # --- versions --------------------------------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        interpreter(function_version.config.runtime)  # fail at create time, not at the first invocation
        function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers:
            layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing of ours to remove: LocalStack owns the unzipped code."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True
