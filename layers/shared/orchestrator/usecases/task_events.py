"""The payloads the state machine sends each task Lambda (see statemachines/deployment_lifecycle.asl.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TaskInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    deployment_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    correlation_id: str = ""


class StepTaskInput(TaskInput):
    step_id: str = Field(min_length=1)


class BatchTaskInput(TaskInput):
    """One batch of a stage (orchestrator/planning/schedule.py); `stage_width` batches share `max_concurrency`."""

    batch: int = Field(ge=0)
    stage_width: int = Field(default=1, ge=1)
    max_concurrency: int = Field(default=1, ge=1)


class VerifyInput(TaskInput):
    """Without `phase`: verify the whole deployment. With it: verify that strategy phase ("canary", "green",
    "switch") and start its bake (`check`: "verify"), or check the health of a baking phase (`check`: "bake")."""

    phase: Literal["canary", "green", "switch"] | None = None
    check: Literal["verify", "bake"] = "verify"


class ApprovalTaskInput(TaskInput):
    task_token: str = Field(min_length=1)
    plan_id: str | None = None


class FinalizeInput(TaskInput):
    outcome: Literal["executing", "completed", "failed", "rolling_back", "rolled_back", "cancelled"]
    # A Step Functions error object {"Error": ..., "Cause": ...} caught by the Catch that led here.
    error: dict[str, Any] | None = None
    reason: str | None = None
    mode: Literal["deploy", "rollback"] | None = None
