"""Reading an intent file (YAML or JSON) and validating it locally with the server's own rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from orchestrator.domain.errors import ValidationFailed
from orchestrator.domain.intent import validate_intent


class IntentError(Exception):
    """The intent cannot be read or is invalid; `details` lists field errors like the API's 422 does."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        self.details = details or []
        super().__init__(message)


class _StringTimestampLoader(yaml.SafeLoader):
    """Safe YAML that keeps `2024-01-01` a string: the API takes JSON, which has no date type."""


_StringTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_intent(source: str) -> dict[str, Any]:
    """The intent in `source` (a path, or `-` for standard input), as a JSON-ready mapping."""
    if source == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        path = Path(source)
        try:
            text, name = path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise IntentError(f"{source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IntentError(f"{source}: cannot read: {exc}") from None
    suffix = Path(source).suffix.lower() if source != "-" else ""
    data = _parse(text, name, json_first=suffix == ".json" or (not suffix and text.lstrip().startswith("{")))
    if not isinstance(data, dict):
        raise IntentError(f"{name}: an intent must be a mapping (an object), not {type(data).__name__}")
    return data


def _parse(text: str, name: str, *, json_first: bool) -> Any:
    if json_first:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise IntentError(f"{name}: not valid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=_StringTimestampLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise IntentError(f"{name}: not valid YAML: {exc}") from None


def validate(intent: dict[str, Any]) -> None:
    """Raise `IntentError` with every field error (location and message) the server would report as 422."""
    try:
        validate_intent(intent)
    except ValidationFailed as failed:
        details = [error.as_dict() for error in failed.errors]
        noun = "error" if len(details) == 1 else "errors"
        raise IntentError(f"the intent is invalid: {len(details)} field {noun}", details) from None
    # Anything the API cannot carry as JSON (e.g. a YAML binary) is an input error too.
    try:
        json.dumps(intent)
    except (TypeError, ValueError) as exc:
        raise IntentError(f"the intent cannot be sent as JSON: {exc}") from None
