"""Request bodies of the API beyond the intent, and parsing them into located field errors."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.errors import ValidationFailed
from ..domain.intent import TagKey, TagValue, field_error_from_pydantic

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveBody(_Body):
    comment: str | None = Field(default=None, max_length=1000)


class RejectBody(_Body):
    reason: str = Field(min_length=1, max_length=1000)


class ScanBody(_Body):
    deployment_id: str = Field(min_length=1, max_length=64)


class ResourcePatch(_Body):
    properties: dict[str, Any] | None = None
    tags: dict[TagKey, TagValue] | None = Field(default=None, max_length=50)
    health: Literal["healthy", "unhealthy"] | None = Field(
        default=None, description="Set the serving instance's health; turning unhealthy records unhealthy_at")


def parse(model: type[M], payload: Any) -> M:
    """Validate a request body into `model`; every problem becomes a located FieldError (HTTP 422)."""
    try:
        return model.model_validate(payload if payload is not None else {})
    except ValidationError as exc:
        raise ValidationFailed([field_error_from_pydantic(err) for err in exc.errors()]) from None
