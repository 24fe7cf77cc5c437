"""Request bodies decoded strictly (orchestrator/api/body.py): each defect gets its 4xx, located where it is."""

import pytest

from orchestrator.api.body import MAX_DEPTH, decode_json, is_json
from orchestrator.api.errors import MalformedRequest
from orchestrator.domain.errors import ValidationFailed


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_a_document_as_deep_as_the_limit_decodes_and_one_level_more_is_refused():
    assert decode_json(nested(MAX_DEPTH)) is not None
    with pytest.raises(MalformedRequest, match="nested deeper than 32"):
        decode_json(nested(MAX_DEPTH + 1))


@pytest.mark.parametrize(("raw", "message"), [
    pytest.param("[" * 100_000, "nested deeper", id="100k-brackets"),
    pytest.param(b'{"a": "caf\xe9"}', "not valid UTF-8", id="latin-1"),
    pytest.param('{"a": NaN}', "NaN is not a JSON value", id="nan"),
    pytest.param('{"a": -Infinity}', "-Infinity is not a JSON value", id="infinity"),
    pytest.param('{"a": 1,}', "malformed JSON", id="trailing-comma"),
])
def test_undecodable_bodies_are_400(raw, message: str):
    with pytest.raises(MalformedRequest, match=message):
        decode_json(raw)


@pytest.mark.parametrize(("raw", "location", "kind"), [
    pytest.param('{"n": ' + "1" * 5000 + "}", "n", "number_out_of_range", id="5000-digits"),
    pytest.param('{"a": [1, 2e400]}', "a.1", "number_out_of_range", id="float-overflow"),
    pytest.param('{"a": {"b": "x\\u0000y"}}', "a.b", "unstorable_text", id="nul"),
    pytest.param('{"\\ud800": 1}', "\ud800", "unstorable_text", id="lone-surrogate-key"),
])
def test_values_postgresql_or_python_cannot_hold_are_422_where_they_are(raw: str, location: str, kind: str):
    with pytest.raises(ValidationFailed) as failed:
        decode_json(raw)
    assert [(e.location, e.type) for e in failed.value.errors] == [(location, kind)]


def test_ordinary_json_and_a_4300_digit_integer_decode_unchanged():
    assert decode_json('{"a": [1, 2.5, "\\u00e9", null, true]}') == {"a": [1, 2.5, "é", None, True]}
    assert decode_json('{"n": ' + "9" * 4300 + "}")["n"] == int("9" * 4300)


@pytest.mark.parametrize(("content_type", "json"), [
    (None, True), ("application/json", True), ("application/json; charset=utf-8", True),
    ("application/merge-patch+json", True), ("text/plain", False), ("application/x-www-form-urlencoded", False),
    ("multipart/form-data; boundary=x", False),
])
def test_which_media_types_count_as_json(content_type, json: bool):
    assert is_json(content_type) is json
