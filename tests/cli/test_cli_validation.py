"""Local validation of intents before anything is sent: every field error, exit 2, no HTTP call (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import three_cloud_intent

from orchestrator.domain.errors import ValidationFailed
from orchestrator.domain.intent import validate_intent
from orchestrator_cli import exitcodes
from orchestrator_cli.intents import IntentError, load_intent

BAD = {
    "name": "-bad",
    "description": "",
    "target_providers": ["aws", "aws", "oracle"],
    "resources": [
        {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": "App_1"},
        {"resource_type": "network", "provider": "gcp", "region": "us-central1", "name": "net",
         "properties": {"simulate": {"fail_apply": "sometimes"}}},
    ],
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("an invalid intent must not reach the API")

    monkeypatch.setattr("urllib.request.urlopen", refuse)


def expected_errors(payload: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        validate_intent(payload)
    return [(e.location, e.msg) for e in failed.value.errors]


def test_every_field_error_is_printed_with_its_location_and_exit_2(cli, tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(BAD))
    result = cli("--token", "t", "deploy", str(path), "--wait")
    assert result.code == exitcodes.INVALID
    expected = expected_errors(BAD)
    assert len(expected) >= 6
    assert f"{len(expected)} field errors" in result.err
    for location, message in expected:
        assert f"  {location}: {message}" in result.err
    assert result.out == ""


def test_json_mode_prints_the_errors_as_the_api_would(cli, tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD))
    result = cli("--json", "--token", "t", "deploy", str(path))
    assert result.code == exitcodes.INVALID and result.err == ""
    body = result.json()
    assert body["code"] == "validation_error" and body["exit_code"] == 2
    assert [(d["location"], d["msg"]) for d in body["details"]] == expected_errors(BAD)
    assert {"loc", "location", "msg", "type"} <= set(body["details"][0])


def test_validation_happens_before_the_login_check(cli, tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD))
    assert cli("deploy", str(path)).code == exitcodes.INVALID  # not 10: nothing was going to be sent


def test_dry_run_validates_a_good_intent_and_sends_nothing(cli, tmp_path: Path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(three_cloud_intent()))
    result = cli("deploy", str(path), "--dry-run")
    assert result.code == 0 and "valid (4 resources)" in result.out


def test_auto_approve_flag_sets_the_intent_field(cli, tmp_path: Path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(three_cloud_intent(auto_approve=False)))
    result = cli("--json", "deploy", str(path), "--dry-run", "--auto-approve")
    assert result.json()["intent"]["auto_approve"] is True


def test_yaml_dates_stay_strings(tmp_path: Path):
    path = tmp_path / "dated.yaml"
    intent = three_cloud_intent()
    path.write_text(yaml.safe_dump(intent).replace("team: web", "since: 2024-01-01"))
    loaded = load_intent(str(path))
    assert loaded["resources"][0]["tags"] == {"since": "2024-01-01"}
    validate_intent(loaded)


@pytest.mark.parametrize(("content", "suffix", "fragment"), [
    ("- just\n- a list\n", ".yaml", "must be a mapping"),
    ("{not json", ".json", "not valid JSON"),
    ("a: [unclosed", ".yml", "not valid YAML"),
])
def test_unreadable_intents_exit_2(cli, tmp_path: Path, content: str, suffix: str, fragment: str):
    path = tmp_path / f"intent{suffix}"
    path.write_text(content)
    result = cli("deploy", str(path))
    assert result.code == exitcodes.INVALID and fragment in result.err and "Traceback" not in result.err


def test_a_missing_file_exits_2(cli, tmp_path: Path):
    result = cli("deploy", str(tmp_path / "nope.yaml"))
    assert result.code == exitcodes.INVALID and "no such file" in result.err


def test_intent_from_standard_input(cli):
    result = cli("deploy", "-", "--dry-run", stdin=json.dumps(three_cloud_intent()))
    assert result.code == 0


def test_load_intent_rejects_scalars(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("42\n")
    with pytest.raises(IntentError):
        load_intent(str(path))
