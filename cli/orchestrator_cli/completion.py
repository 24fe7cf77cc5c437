"""Shell completion scripts, generated from the argument parser itself so they never fall behind the commands."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish")


@dataclass
class _Command:
    options: list[str] = field(default_factory=list)
    commands: dict[str, _Command] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)  # choices of a positional argument
    # An option's values per command: `list --status` takes deployment states, `show --status` step states.
    choices: dict[str, list[str]] = field(default_factory=dict)


def _walk(parser: argparse.ArgumentParser) -> _Command:
    node = _Command()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                node.commands[name] = _walk(sub)
                node.helps[name] = helps.get(name, "")
        elif not action.option_strings and action.choices:
            node.values += [str(c) for c in action.choices]
        elif action.option_strings:
            node.options += [o for o in action.option_strings if o.startswith("--")]
            if action.choices:
                for option in action.option_strings:
                    node.choices[option] = [str(c) for c in action.choices]
    return node


def _paths(node: _Command, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], _Command]]:
    out = [(prefix, node)]
    for name, sub in node.commands.items():
        out += _paths(sub, prefix + (name,))
    return out


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    root = _walk(parser)
    prog = parser.prog
    if shell in ("bash", "zsh"):
        return _bash(prog, root, zsh=shell == "zsh")
    return _fish(prog, root)


def _bash(prog: str, root: _Command, *, zsh: bool) -> str:
    func = "_" + prog.replace("-", "_")
    known = " ".join(shlex.quote(" ".join(p)) for p, _ in _paths(root) if p)
    words_by_path = "\n".join(
        f"        {shlex.quote(' '.join(p))}) words={shlex.quote(' '.join([*n.commands, *n.values, *n.options]))} ;;"
        for p, n in _paths(root))
    by_option = "\n".join(
        f"        {shlex.quote(' '.join([*p, option]))}) COMPREPLY=($(compgen -W {shlex.quote(' '.join(values))} "
        f"-- \"$cur\")); return ;;" for p, n in _paths(root) for option, values in sorted(n.choices.items()))
    head = "autoload -U +X bashcompinit && bashcompinit\n" if zsh else ""
    return f"""# {prog} completion ({'zsh, through bashcompinit' if zsh else 'bash'}): eval "$({prog} completion \
{'zsh' if zsh else 'bash'})"
{head}{func}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" path="" candidate w i words
    local -a known=({known})
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        [[ "$w" == -* ]] && continue
        candidate="${{path:+$path }}$w"
        for k in "${{known[@]}}"; do [[ "$k" == "$candidate" ]] && path="$candidate" && break; done
    done
    case "${{path:+$path }}$prev" in
{by_option}
    esac
    case "$path" in
{words_by_path}
        *) words="" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F {func} {prog}
"""


def _fish(prog: str, root: _Command) -> str:
    lines = [f"# {prog} completion (fish): {prog} completion fish | source", f"complete -c {prog} -f"]
    for path, node in _paths(root):
        if path:
            condition = " && ".join(f"__fish_seen_subcommand_from {p}" for p in path)
        else:
            condition = "__fish_use_subcommand"
        # A command's subcommands only until one of them is given.
        sub_condition = condition if not path else \
            f"{condition} && not __fish_seen_subcommand_from {' '.join(node.commands) or '__none__'}"
        for name in node.commands:
            description = node.helps.get(name, "").replace("'", "")
            lines.append(f"complete -c {prog} -n '{sub_condition}' -a {name} -d '{description[:60]}'")
        for value in node.values:
            lines.append(f"complete -c {prog} -n '{condition}' -a {value}")
        for option in node.options:
            values = node.choices.get(option)
            extra = f" -xa {shlex.quote(' '.join(values))}" if values else ""
            lines.append(f"complete -c {prog} -n '{condition}' -l {option[2:]}{extra}")
    return "\n".join(lines) + "\n"
