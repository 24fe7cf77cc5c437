"""Argument parsing, exit-code mapping and the help text (no server)."""

from __future__ import annotations

import pytest

from orchestrator_cli import exitcodes
from orchestrator_cli.main import DEFAULT_API_URL, Context, build_parser


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_global_options_are_accepted_before_and_after_the_command():
    before = parse("--json", "--api-url", "http://h:1", "--token", "t", "show", "abc")
    after = parse("show", "abc", "--json", "--api-url", "http://h:1", "--token", "t")
    for args in (before, after):
        assert args.json is True and args.api_url == "http://h:1" and args.token == "t" and args.id == "abc"


def test_an_option_given_only_before_the_command_is_not_reset_by_the_subcommand():
    args = parse("--json", "list")
    assert args.json is True


def test_api_url_comes_from_the_option_then_the_environment_then_the_default(monkeypatch):
    assert Context(parse("list")).api_url == DEFAULT_API_URL
    monkeypatch.setenv("ORCHESTRATOR_API_URL", "http://env:9/")
    assert Context(parse("list")).api_url == "http://env:9"
    assert Context(parse("--api-url", "http://opt:8/api/v1", "list")).api_url == "http://opt:8"


@pytest.mark.parametrize("argv", [
    ["deploy"],                                  # the intent file is required
    ["reject", "d1"],                            # --reason is required
    ["list", "--status", "done"],                # not a status
    ["list", "--environment", "prod"],           # not an environment
    ["list", "--limit", "0"],
    ["terraform", "d1", "--provider", "oracle"],
    ["drift"],                                   # a drift command is required
    ["show", "  "],                              # an empty id
    ["deploy", "x.yaml", "--timeout", "-1"],
    [],                                          # a command is required
])
def test_usage_errors_exit_2(cli, argv):
    result = cli(*argv)
    assert result.code == exitcodes.INVALID
    assert "usage:" in result.err and result.out == ""


def test_commands_and_their_arguments_parse():
    args = parse("deploy", "intent.yaml", "--wait", "--auto-approve", "--idempotency-key", "k-1", "--timeout", "30",
                 "--interval", "0.5")
    assert (args.intent, args.wait, args.auto_approve, args.idempotency_key, args.timeout, args.interval) == (
        "intent.yaml", True, True, "k-1", 30.0, 0.5)
    args = parse("list", "--status", "awaiting_approval", "--environment", "production", "--limit", "5")
    assert (args.status, args.environment, args.limit) == ("awaiting_approval", "production", 5)
    assert parse("reject", "d1", "--reason", "too costly").reason == "too costly"
    assert parse("approve", "d1", "--comment", "ok").comment == "ok"
    assert parse("rollback", "d1", "--wait").wait is True
    assert parse("drift", "scan", "d1").id == "d1"
    assert parse("drift", "reports", "--deployment", "d1").deployment == "d1"
    assert parse("drift", "remediate", "r1").report_id == "r1"
    args = parse("terraform", "d1", "--provider", "gcp", "--out", "tf")
    assert (args.provider, args.out) == ("gcp", "tf")
    assert parse("wait", "d1", "--until", "awaiting_approval").until == ["awaiting_approval"]
    assert parse("login", "-u", "ann", "--password-stdin").password_stdin is True


def test_help_documents_every_exit_code(cli):
    result = cli("--help")
    assert result.code == 0
    for code in ("0", "1", "2", "3", "4", "5", "10", "11", "12", "13", "14", "15"):
        assert f"\n  {code:>2}  " in result.out or f"\n {code:>3}  " in result.out, code
    assert "XDG_CONFIG_HOME" in result.out


def test_version(cli):
    result = cli("--version")
    assert result.code == 0 and result.out.startswith("orchestrator ")


@pytest.mark.parametrize(("status", "code"), [
    (400, 2), (401, 10), (403, 11), (404, 12), (409, 13), (413, 2), (422, 2), (429, 14), (418, 2),
    (500, 15), (502, 15), (503, 15), (504, 15),
])
def test_http_status_to_exit_code(status, code):
    assert exitcodes.for_http_status(status) == code


@pytest.mark.parametrize(("status", "code"), [
    ("completed", 0), ("failed", 1), ("rolled_back", 3), ("rejected", 4), ("cancelled", 5), ("executing", 0),
])
def test_deployment_status_to_exit_code(status, code):
    assert exitcodes.for_deployment_status(status) == code


def test_terminal_states_are_the_lifecycle_settled_states():
    from orchestrator.domain.lifecycle import SETTLED

    assert exitcodes.TERMINAL == {s.value for s in SETTLED}
