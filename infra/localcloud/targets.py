"""Where the local cloud deploys: the built-in emulator (`emulator.AwsEmulator`) or an AWS-compatible endpoint
such as LocalStack (`RemoteAws`), where functions run in the endpoint's own Lambda runtime.

Both speak the same control-plane API, so creating-or-updating a function or a state machine (what makes a second
deploy over the first work) lives here once (`put_function`, `put_state_machine`), used by both targets.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config

from .lambdas import FunctionCode

LAMBDA_ROLE = "orchestrator-local-lambda"
STATES_ROLE = "orchestrator-local-states"
TRUST_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
    "Action": "sts:AssumeRole"}]})
# Fixed timestamps make a zip a function of its files only, so an unchanged layer is recognised by its hash.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Identity:
    """The account, partition and region ARNs are built from: what the endpoint reports, never assumed."""

    account: str
    partition: str
    region: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if regional else ''}:{self.account}:{resource}"


def identify(target: Target) -> Identity:
    """STS GetCallerIdentity on the target: moto answers 123456789012, LocalStack 000000000000, AWS the real one."""
    caller = target.client("sts").get_caller_identity()
    return Identity(account=caller["Account"], partition=caller["Arn"].split(":")[1], region=target.region)


def host_architecture() -> str:
    """This machine as a Lambda architecture: a host-run function needs wheels this machine can load."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


class Target(Protocol):
    region: str
    identity: Identity | None  # set by start(): `identify` on the endpoint

    @property
    def endpoint_url(self) -> str: ...

    @property
    def runs_schedules(self) -> bool:
        """Whether the endpoint's EventBridge fires scheduled rules itself (else the local scheduler does)."""

    def client(self, service: str) -> Any: ...

    def put_function(self, code: FunctionCode, environment: dict[str, str] | None = None,
                     layers: Sequence[Path] = ()) -> str: ...

    def put_state_machine(self, name: str, definition: str) -> str: ...

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]: ...

    def stop(self) -> None: ...


def _zip_tree(root: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(f"{prefix}{path.relative_to(root)}", date_time=_ZIP_EPOCH)
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    """As the Lambda API reports CodeSha256: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def put_function(lam: Any, *, name: str, role: str, handler: str, zip_bytes: bytes, timeout: int, memory: int,
                 environment: dict[str, str], layers: list[str], architecture: str | None = None) -> str:
    """Create the function, or bring an existing one of that name to this code and configuration."""
    configuration = {"Role": role, "Handler": handler, "Runtime": "python3.12", "Timeout": timeout,
                     "MemorySize": memory, "Environment": {"Variables": environment}, "Layers": layers}
    architectures = {"Architectures": [architecture]} if architecture else {}
    wait = {"FunctionName": name, "WaiterConfig": {"Delay": 1, "MaxAttempts": 120}}
    try:
        arn = lam.create_function(FunctionName=name, Code={"ZipFile": zip_bytes}, **configuration,
                                  **architectures)["FunctionArn"]
    except lam.exceptions.ResourceConflictException:  # deployed before: update in place, as CloudFormation would
        lam.get_waiter("function_updated_v2").wait(**wait)
        arn = lam.update_function_code(FunctionName=name, ZipFile=zip_bytes, **architectures)["FunctionArn"]
        lam.get_waiter("function_updated_v2").wait(**wait)
        lam.update_function_configuration(FunctionName=name, **configuration)
        lam.get_waiter("function_updated_v2").wait(**wait)
        return arn
    lam.get_waiter("function_active_v2").wait(**wait)
    return arn


def put_state_machine(sfn: Any, *, name: str, definition: str, role: str) -> str:
    """Create the state machine, or replace an existing one's definition (running executions keep theirs).
    Looked up first: moto hands back an existing machine of that name from CreateStateMachine unchanged."""
    pages = sfn.get_paginator("list_state_machines").paginate()
    arn = next((m["stateMachineArn"] for page in pages for m in page["stateMachines"] if m["name"] == name), None)
    if arn is None:
        return sfn.create_state_machine(name=name, definition=definition, roleArn=role,
                                        type="STANDARD")["stateMachineArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role)
    return arn


def ensure_roles(iam: Any, names: Sequence[str]) -> None:
    """The roles the deploy names (neither emulator enforces IAM, but the Lambda API wants them to exist)."""
    for name in names:
        try:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_POLICY)
        except iam.exceptions.EntityAlreadyExistsException:
            pass


class RemoteAws:
    """An AWS-compatible endpoint (LocalStack). Code is zipped from the work tree; a layer's requirements are
    installed by pip for python3.12 and the function architecture (manylinux wheels), as `sam build` would. The
    architecture defaults to this machine's: LocalStack's host runtime runs the functions here, and its Docker
    runtime then needs no emulation."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1", architecture: str | None = None,
                 credentials: dict[str, str] | None = None):
        """`credentials`: boto3 client keyword arguments (aws_access_key_id, ...); LocalStack takes any key."""
        self._endpoint, self.region = endpoint_url, region
        self._architecture = architecture or host_architecture()
        self._credentials = credentials or {
            "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test")}
        self._layers: dict[Path, str] = {}
        self.identity: Identity | None = None

    @property
    def endpoint_url(self) -> str:
        return self._endpoint

    @property
    def runs_schedules(self) -> bool:
        return True

    def start(self) -> RemoteAws:
        # Fails early, with the endpoint's own error, if it is not there.
        self.identity = identify(self)
        ensure_roles(self.client("iam"), (LAMBDA_ROLE, STATES_ROLE))
        return self

    def _role(self, name: str) -> str:
        return self.identity.arn("iam", f"role/{name}", regional=False)

    def stop(self) -> None:
        """Nothing runs here: the endpoint keeps what was deployed until it is restarted."""

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self._endpoint, **self._credentials,
                            config=Config(connect_timeout=5, read_timeout=120, retries={"max_attempts": 2}))

    def _build_layer(self, layer_dir: Path) -> bytes:
        with tempfile.TemporaryDirectory() as build:
            target = Path(build) / "python"
            requirements = layer_dir / "requirements.txt"
            if requirements.exists():
                platform_tag = f"manylinux2014_{'aarch64' if self._architecture == 'arm64' else 'x86_64'}"
                subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                                "--platform", platform_tag, "--python-version", "3.12", "--only-binary=:all:",
                                "--no-compile", "-r", str(requirements)], check=True, timeout=600)
            for path in layer_dir.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts and path.name != "requirements.txt":
                    destination = target / path.relative_to(layer_dir)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(path.read_bytes())
            return _zip_tree(Path(build))

    def _layer(self, layer_dir: Path) -> str:
        """The layer's version ARN: the latest version when its content is unchanged, else a new version."""
        if layer_dir in self._layers:
            return self._layers[layer_dir]
        archive, name = self._build_layer(layer_dir), f"orchestrator-{layer_dir.name}"
        lam = self.client("lambda")
        versions = lam.list_layer_versions(LayerName=name).get("LayerVersions", [])
        latest = max(versions, key=lambda v: v["Version"], default=None)
        if latest and lam.get_layer_version(LayerName=name, VersionNumber=latest["Version"])["Content"][
                "CodeSha256"] == _sha256(archive):
            self._layers[layer_dir] = latest["LayerVersionArn"]
        else:
            self._layers[layer_dir] = lam.publish_layer_version(
                LayerName=name, Content={"ZipFile": archive}, CompatibleRuntimes=["python3.12"],
                CompatibleArchitectures=[self._architecture])["LayerVersionArn"]
        return self._layers[layer_dir]

    def put_function(self, code: FunctionCode, environment: dict[str, str] | None = None,
                     layers: Sequence[Path] = ()) -> str:
        return put_function(self.client("lambda"), name=code.name, role=self._role(LAMBDA_ROLE),
                            handler=code.handler, zip_bytes=_zip_tree(code.code_dir), timeout=code.timeout_seconds,
                            memory=code.memory_mb, environment=environment or {},
                            layers=[self._layer(layer) for layer in layers], architecture=self._architecture)

    def put_state_machine(self, name: str, definition: str) -> str:
        return put_state_machine(self.client("stepfunctions"), name=name, definition=definition,
                                 role=self._role(STATES_ROLE))

    def invoke(self, name: str, arn: str, event: Any) -> tuple[str, bool]:
        response = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
        return response["Payload"].read().decode(), bool(response.get("FunctionError"))
