"""The whole stack on one machine: the AWS emulator with template.yaml deployed into it, the API gateway in front
of the API function, migrations and the bootstrap admin. Tests and the run command start it the same way."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .deploy import Deployed, Schedule, deploy, local_process_environment
from .emulator import AwsEmulator
from .gateway import ApiGateway, GatewayResponse
from .targets import Target
from .template import Stack


@dataclass
class LocalCloud:
    database_url: str
    redis_url: str
    aws_port: int | None = None
    # The REST API's port on 127.0.0.1 (0: any free port; None: no HTTP server, requests only via `request`).
    api_port: int | None = None
    extra_environment: dict[str, str] = field(default_factory=dict)
    # Where generated secrets (admin password, token key) are kept, so they survive a restart with the same data.
    secrets_file: Path | None = None
    # Deploy to an AWS-compatible endpoint (LocalStack) instead of the built-in emulator. Its Lambda containers
    # reach the data stores at these URLs (default: the same as this process uses).
    target: Target | None = None
    lambda_database_url: str | None = None
    lambda_redis_url: str | None = None
    # Template parameter overrides (e.g. a faster DriftScheduleRate).
    parameters: dict[str, str] = field(default_factory=dict)
    emulator: AwsEmulator | None = None
    deployed: Deployed | None = None
    gateway: ApiGateway | None = None
    api: Any = None
    scheduler: Any = None
    _saved_environment: dict[str, str | None] = field(default_factory=dict)

    def start(self) -> LocalCloud:
        from orchestrator import wiring
        from orchestrator.provisioning import provision

        self.emulator = self.target.start() if self.target else AwsEmulator(port=self.aws_port).start()
        stack = Stack.load()
        kept = json.loads(self.secrets_file.read_text()) if self.secrets_file and self.secrets_file.exists() else {}
        self.deployed = deploy(self.emulator, stack, database_url=self.lambda_database_url or self.database_url,
                               redis_url=self.lambda_redis_url or self.redis_url,
                               extra_environment=self.extra_environment, secret_values=kept,
                               parameters=self.parameters)
        if self.secrets_file is not None and kept != self.deployed.secret_values:
            self.secrets_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                json.dump(self.deployed.secret_values, out)
        environment = {**local_process_environment(self.emulator, self.deployed),
                       "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                       # On one machine webhook receivers are on loopback; in AWS that is refused (SSRF).
                       "WEBHOOK_ALLOW_LOOPBACK": "1",
                       # Bakes are capped locally so a canary or blue/green run takes seconds, not minutes.
                       "BAKE_SECONDS_CAP": os.environ.get("BAKE_SECONDS_CAP") or "10",
                       "BAKE_CHECK_SECONDS": os.environ.get("BAKE_CHECK_SECONDS") or "1"}
        self._saved_environment = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)
        wiring.reset()  # adapters built before now point elsewhere
        provision()
        self.gateway = ApiGateway(stack, self.deployed, self.emulator.invoke)
        if self.api_port is not None:
            from .api_server import ApiServer

            self.api = ApiServer(self, port=self.api_port).start()
        if not self.emulator.runs_schedules:  # else the target's rules fire, and a second firer would double them
            from .scheduler import Scheduler

            self.scheduler = Scheduler(self).start()
        return self

    @property
    def api_url(self) -> str | None:
        return self.api.url if self.api else None

    def stop(self) -> None:
        from orchestrator import wiring

        for part in (self.scheduler, self.api):
            if part is not None:
                part.stop()
        self.scheduler = self.api = None
        wiring.reset()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def state_machine_arn(self) -> str:
        return next(iter(self.deployed.state_machine_arns.values()))

    def admin_credentials(self) -> dict[str, str]:
        arn = self.deployed.secret_arns["BootstrapAdminSecret"]
        secret = self.emulator.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        return json.loads(secret)

    def request(self, method: str, path: str, *, body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> GatewayResponse:
        """One HTTP request through the gateway, as the HTTP server would hand it over."""
        path, _, query_string = path.partition("?")
        query: dict[str, list[str]] = {}
        for pair in filter(None, query_string.split("&")):
            key, _, value = pair.partition("=")
            query.setdefault(key, []).append(value)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.gateway.handle(method, path, headers=sent, query=query, body=data)

    def fire(self, function_logical_id: str) -> dict[str, Any]:
        """Fire the schedule whose target is that function (e.g. "ReconcileFunction") now."""
        return self.fire_schedule(next(s for s in self.deployed.schedules
                                       if s.function_logical_id == function_logical_id))

    def fire_schedule(self, schedule: Schedule | None = None) -> dict[str, Any]:
        """Deliver a scheduled event to the rule's target now, as EventBridge would: the target the rule holds on
        the endpoint, invoked through the endpoint's Lambda API."""
        schedule = schedule or self.deployed.schedules[0]
        identity = self.deployed.identity
        targets = self.emulator.client("events").list_targets_by_rule(Rule=schedule.rule_name)["Targets"]
        function = next(t["Arn"] for t in targets if t["Id"] == "function")
        event = {"version": "0", "id": os.urandom(8).hex(), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": identity.account, "region": identity.region, "detail": {},
                 "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "resources": [identity.arn("events", f"rule/{schedule.rule_name}")]}
        response = self.emulator.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise RuntimeError(f"scheduled function failed: {payload}")
        return payload
