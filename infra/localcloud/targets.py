"""Where the local cloud deploys: the built-in emulator (`emulator.AwsEmulator`) or an AWS-compatible endpoint
such as LocalStack (`RemoteAws`), where functions run in the endpoint's own Lambda containers."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config

from .lambdas import FunctionCode

LAMBDA_ROLE = "orchestrator-local-lambda"
STATES_ROLE = "orchestrator-local-states"


class Target(Protocol):
    region: str

    @property
    def endpoint_url(self) -> str: ...

    def client(self, service: str) -> Any: ...

    def create_function(self, code: FunctionCode, environment: dict[str, str] | None = None,
                        layers: Sequence[Path] = ()) -> str: ...

    def create_state_machine(self, name: str, definition: str) -> str: ...

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]: ...

    def stop(self) -> None: ...


def _zip_tree(root: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"{prefix}{path.relative_to(root)}")
    return buffer.getvalue()


class RemoteAws:
    """An AWS-compatible endpoint (LocalStack). Code is zipped from the work tree; a layer's requirements are
    installed for the Lambda platform (python3.12, x86_64 manylinux wheels) by pip, as `sam build` would."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1", architecture: str = "x86_64"):
        self._endpoint, self.region, self._architecture = endpoint_url, region, architecture
        self._layers: dict[Path, str] = {}
        self._account = "000000000000"

    @property
    def endpoint_url(self) -> str:
        return self._endpoint

    def start(self) -> RemoteAws:
        # Fails early, with the endpoint's own error, if it is not there.
        self._account = self.client("sts").get_caller_identity()["Account"]
        return self

    def _role(self, name: str) -> str:
        return f"arn:aws:iam::{self._account}:role/{name}"

    def stop(self) -> None:
        """Nothing runs here: the endpoint keeps what was deployed until it is restarted."""

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self._endpoint,
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(connect_timeout=5, read_timeout=120, retries={"max_attempts": 2}))

    def _layer(self, layer_dir: Path) -> str:
        if layer_dir in self._layers:
            return self._layers[layer_dir]
        with tempfile.TemporaryDirectory() as build:
            target = Path(build) / "python"
            requirements = layer_dir / "requirements.txt"
            if requirements.exists():
                platform = "manylinux2014_aarch64" if self._architecture == "arm64" else "manylinux2014_x86_64"
                subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                                "--platform", platform, "--python-version", "3.12", "--only-binary=:all:",
                                "-r", str(requirements)], check=True, timeout=600)
            for path in layer_dir.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts and path.name != "requirements.txt":
                    destination = target / path.relative_to(layer_dir)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(path.read_bytes())
            archive = _zip_tree(Path(build))
        response = self.client("lambda").publish_layer_version(
            LayerName=f"orchestrator-{layer_dir.name}", Content={"ZipFile": archive},
            CompatibleRuntimes=["python3.12"], CompatibleArchitectures=[self._architecture])
        self._layers[layer_dir] = response["LayerVersionArn"]
        return self._layers[layer_dir]

    def create_function(self, code: FunctionCode, environment: dict[str, str] | None = None,
                        layers: Sequence[Path] = ()) -> str:
        response = self.client("lambda").create_function(
            FunctionName=code.name, Runtime="python3.12", Role=self._role(LAMBDA_ROLE), Handler=code.handler,
            Code={"ZipFile": _zip_tree(code.code_dir)}, Timeout=code.timeout_seconds, MemorySize=code.memory_mb,
            Architectures=[self._architecture], Environment={"Variables": environment or {}},
            Layers=[self._layer(layer) for layer in layers],
        )
        self.client("lambda").get_waiter("function_active_v2").wait(FunctionName=code.name)
        return response["FunctionArn"]

    def create_state_machine(self, name: str, definition: str) -> str:
        return self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=self._role(STATES_ROLE), type="STANDARD")["stateMachineArn"]

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]:
        response = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
        return response["Payload"].read().decode(), bool(response.get("FunctionError"))
