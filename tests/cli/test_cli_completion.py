"""`orchestrator completion bash|zsh|fish`: scripts generated from the parser, exercised in a real bash."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from orchestrator_cli.main import main

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _script(cli, shell: str) -> str:
    result = cli("completion", shell)
    assert result.code == 0
    return result.out


def _complete(script: str, *words: str) -> list[str]:
    """COMPREPLY for the command line `words` (the last word is the one being completed)."""
    words_array = " ".join(f"'{w}'" for w in words)
    program = f"""{script}
COMP_WORDS=({words_array}); COMP_CWORD={len(words) - 1}
_orchestrator
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    run = subprocess.run(["bash", "--norc", "--noprofile"], input=program, capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line]


def test_bash_completes_commands_subcommands_options_and_choices(cli):
    script = _script(cli, "bash")
    assert _complete(script, "orchestrator", "dep") == ["deploy"]
    assert set(_complete(script, "orchestrator", "drift", "re")) == {"reports", "remediate"}
    assert _complete(script, "orchestrator", "--json", "list", "--wi") == ["--wide"]
    assert set(_complete(script, "orchestrator", "list", "--status", "ro")) == {"rolling_back", "rolled_back"}
    assert set(_complete(script, "orchestrator", "show", "d-1", "--status", "r")) == {"running", "retrying"}
    assert _complete(script, "orchestrator", "--json", "--api-url", "u", "plan", "--status", "timed") == ["timed_out"]
    assert _complete(script, "orchestrator", "completion", "f") == ["fish"]


def test_zsh_uses_the_same_completion_through_bashcompinit(cli):
    script = _script(cli, "zsh")
    assert script.splitlines()[1] == "autoload -U +X bashcompinit && bashcompinit"
    assert "complete -o default -F _orchestrator orchestrator" in script


def test_fish_lists_every_command_under_its_parent(cli):
    script = _script(cli, "fish")
    assert "complete -c orchestrator -n '__fish_use_subcommand' -a deploy" in script
    assert ("complete -c orchestrator -n '__fish_seen_subcommand_from drift && not __fish_seen_subcommand_from "
            "scan reports remediate' -a remediate") in script
    assert "-l status -xa" in script


def test_an_unknown_shell_is_a_usage_error():
    assert main(["completion", "powershell"]) == 2
