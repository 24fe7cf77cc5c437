"""Ports: the workflow engine (Step Functions) and the domain event bus (EventBridge)."""

from __future__ import annotations

from typing import Any, Literal, Protocol

Mode = Literal["deploy", "rollback"]


class Workflow(Protocol):
    def start(self, *, deployment_id: str, tenant_id: str, correlation_id: str, mode: Mode) -> str:
        """Start one execution of the lifecycle state machine; return its ARN."""
        ...

    def approve(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume the waiting task; False when no execution waits for this token any more (it ended)."""
        ...

    def fail_task(self, task_token: str, error: str, cause: str) -> bool:
        """End a waiting task with a named error (`Rejected`, `Cancelled`) the state machine catches; False when
        no execution waits for this token any more."""
        ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None when the engine does not know the execution."""
        ...

    def ping(self) -> None:
        """Raise `DependencyUnavailable` unless the engine answers."""
        ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...
