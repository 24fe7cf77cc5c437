"""Request bodies as JSON, decoded strictly: whatever a client sends, the answer is a 4xx, never a 500.

- not UTF-8, not JSON, `NaN`/`Infinity` (not JSON either), nested deeper than MAX_DEPTH: 400 `malformed_request`;
- a number Python cannot hold as sent (an integer of more than MAX_INTEGER_DIGITS digits, a float beyond
  1.8e308), or text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate from a `\\ud800` escape): 422 naming
  where it is, like any other invalid field;
- a body in another media type than JSON: 415 (`require_json`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..domain.errors import FieldError, ValidationFailed
from .errors import MalformedRequest, UnsupportedMediaType

# An intent is 4 levels deep down to a resource's properties; 32 leaves room for any sensible property tree, and
# stays far below the recursion that deeper documents would cost the validators and the JSONB encoder.
MAX_DEPTH = 32
# Python's own limit on int(str) (CVE-2020-10735): a longer integer would raise from inside the decoder.
MAX_INTEGER_DIGITS = 4300
# PostgreSQL text and JSONB hold neither NUL nor unpaired surrogates (which are not Unicode text anyway).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates"


class _OutOfRange:
    """A number kept as text while decoding, reported with its location afterwards."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _integer(text: str) -> int | _OutOfRange:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else _OutOfRange(text)


def _float(text: str) -> float | _OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else _OutOfRange(text)


def _constant(name: str) -> Any:
    raise MalformedRequest(f"malformed JSON: {name} is not a JSON value")


def decode_json(raw: str | bytes) -> Any:
    """The JSON document in `raw`, or MalformedRequest / ValidationFailed (see the module docstring)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("the request body is not valid UTF-8") from None
    try:
        value = json.loads(raw, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # the C decoder recurses per level: far deeper than MAX_DEPTH
        raise _too_deep() from None
    _check(value)
    return value


def _too_deep() -> MalformedRequest:
    return MalformedRequest(f"JSON nested deeper than {MAX_DEPTH} levels")


def _check(document: Any) -> None:
    """Depth and out-of-range numbers, walked without recursion (the document may be deep)."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, tuple[str | int, ...], int]] = [(document, (), 1)]
    while pending:
        value, loc, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            if isinstance(value, dict):
                errors.extend(FieldError((*loc, key), UNSTORABLE_MESSAGE, "unstorable_text")
                              for key in value if _UNSTORABLE.search(key))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            pending.extend((child, (*loc, key), depth + 1) for key, child in items)
        elif isinstance(value, str):
            if _UNSTORABLE.search(value):
                errors.append(FieldError(loc, UNSTORABLE_MESSAGE, "unstorable_text"))
        elif isinstance(value, _OutOfRange):
            errors.append(FieldError(loc, f"number out of range (at most {MAX_INTEGER_DIGITS} digits for an "
                                          "integer, ±1.8e308 for a decimal)", "number_out_of_range"))
    if errors:
        raise ValidationFailed(sorted(errors, key=lambda e: e.location))


def is_json(content_type: str | None) -> bool:
    """application/json, with parameters (charset) or a +json suffix. A body without Content-Type is read as JSON,
    as most JSON APIs do; one that says it is something else is refused."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json(content_type: str | None) -> None:
    if not is_json(content_type):
        raise UnsupportedMediaType(f"the request body must be application/json, not {content_type}")
