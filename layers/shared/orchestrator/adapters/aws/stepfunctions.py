"""Step Functions adapter of the Workflow port: one execution per deployment run, task tokens for approvals."""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.domain.errors import DependencyUnavailable

from .clients import client

# SendTaskSuccess/Failure on a token whose task already ended (timed out, execution stopped).
_STALE_TOKEN = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
_GONE: dict[str, Any] = {}  # what `_call` answers for such a token: nobody was waiting for it


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, *, region: str | None = None, timeout_seconds: float = 3.0):
        self._arn = state_machine_arn
        self._region, self._timeout = region, timeout_seconds

    @property
    def _sfn(self):
        return client("stepfunctions", region=self._region, timeout_seconds=self._timeout)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._sfn, operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _STALE_TOKEN:
                return _GONE
            raise DependencyUnavailable("stepfunctions", exc.response.get("Error", {}).get("Code", "")) from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("stepfunctions", type(exc).__name__) from exc

    def start(self, *, deployment_id: str, tenant_id: str, correlation_id: str, mode: str) -> str:
        payload = {
            "deployment_id": deployment_id,
            "tenant_id": tenant_id,
            "correlation_id": correlation_id,
            "mode": mode,
            "error": None,
        }
        # Execution names are unique per state machine for 90 days; a run suffix allows re-plans and rollbacks.
        name = f"{deployment_id}-{mode}-{uuid.uuid4().hex[:8]}"
        return self._call("start_execution", stateMachineArn=self._arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]

    def approve(self, task_token: str, output: dict[str, Any]) -> bool:
        return self._call("send_task_success", taskToken=task_token, output=json.dumps(output)) is not _GONE

    def fail_task(self, task_token: str, error: str, cause: str) -> bool:
        return self._call("send_task_failure", taskToken=task_token, error=error, cause=cause[:32_000]) is not _GONE

    def stop(self, execution_arn: str, cause: str) -> None:
        self._call("stop_execution", executionArn=execution_arn, cause=cause[:32_000])

    def status(self, execution_arn: str) -> str | None:
        try:
            return self._sfn.describe_execution(executionArn=execution_arn)["status"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise DependencyUnavailable("stepfunctions", exc.response.get("Error", {}).get("Code", "")) from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("stepfunctions", type(exc).__name__) from exc

    def ping(self) -> None:
        self._call("describe_state_machine", stateMachineArn=self._arn)
