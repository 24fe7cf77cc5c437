"""An AWS endpoint on loopback that really executes Step Functions and runs our Lambda handlers in-process.

Built on moto (pinned in pyproject.toml) in server mode, so handlers reach it exactly as they reach AWS: through
boto3 with `AWS_ENDPOINT_URL`. The same class serves the tests and the local cloud.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import socket
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from . import sfn_limits
from .lambdas import FunctionCode, InProcessLambdaRuntime
from .targets import LAMBDA_ROLE, STATES_ROLE, Identity, ensure_roles, identify, put_function, put_state_machine


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _placeholder_zip() -> bytes:
    """The Lambda API wants a code package; the code really runs from the work tree."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# runs in-process from the work tree\n")
    return buffer.getvalue()


def _reuse_engine_clients() -> None:
    """The ASL engine builds a new boto3 client for every Lambda task (tens of ms each); reuse one per region and
    service instead. Clients are thread-safe, and the engine's calls carry no per-call client settings. A new
    emulator (another port) starts with none: a client keeps the endpoint it was built with."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    build = lambda_eval_utils.boto_client_for
    if getattr(build, "forget", None):
        build.forget()
        return
    cache: dict[tuple[str, str], Any] = {}

    @functools.wraps(build)
    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        if key not in cache:
            cache[key] = build(region=region, service=service, state_credentials=state_credentials)
        return cache[key]

    cached.forget = cache.clear  # type: ignore[attr-defined]
    lambda_eval_utils.boto_client_for = cached


class AwsEmulator:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None, region: str = "us-east-1"):
        self.host, self.port, self.region = host, port or free_port(host), region
        self.runtime = InProcessLambdaRuntime()
        self._server = None
        self.identity: Identity | None = None

    @property
    def runs_schedules(self) -> bool:
        return False  # moto stores rules but never fires them: the local scheduler does

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AwsEmulator:
        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        # The ASL engine calls Lambda through http://localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # Keep moto's Docker-backed Lambda backend: its `_invoke_lambda` is the one method the runtime replaces.
        default_user_config["lambda"]["use_docker"] = True
        # The ASL engine logs every caught error with a full dump of the state tree.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.runtime.install()
        _reuse_engine_clients()
        sfn_limits.install()
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.identity = identify(self)
        ensure_roles(self.client("iam"), (LAMBDA_ROLE, STATES_ROLE))
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.runtime.uninstall()

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def client(self, service: str):
        return boto3.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url,
            aws_access_key_id="local", aws_secret_access_key="local",
            config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2}),
        )

    def role_arn(self, role: str) -> str:
        return self.identity.arn("iam", f"role/{role}", regional=False)

    def put_function(self, code: FunctionCode, environment: dict[str, str] | None = None,
                     layers: Sequence[Path] = ()) -> str:
        for layer in layers:
            if str(layer) not in sys.path:  # the layer's code is importable as Lambda would mount it
                sys.path.append(str(layer))
        self.runtime.register(code)
        return put_function(self.client("lambda"), name=code.name, role=self.role_arn(LAMBDA_ROLE),
                            handler=code.handler, zip_bytes=_placeholder_zip(), timeout=code.timeout_seconds,
                            memory=code.memory_mb, environment=environment or {}, layers=[])

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]:
        """Call a function the way API Gateway does (synchronously); returns (payload JSON, errored)."""
        return self.runtime.invoke(name, arn, event)

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event of an execution's history, page by page."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token = None
        while True:
            page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                             **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def put_state_machine(self, name: str, definition: str) -> str:
        return put_state_machine(self.client("stepfunctions"), name=name, definition=definition,
                                 role=self.role_arn(STATES_ROLE))
