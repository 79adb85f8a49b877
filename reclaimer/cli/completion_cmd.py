"""`reclaimer completion bash|zsh`: a completion script for every verb and its flags.

Generated from the parser itself, so it never falls behind a new flag. zsh reads the
bash script through ``bashcompinit``.
"""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "completion", help="print a shell completion script (bash or zsh)",
        description="Print a completion script: source <(reclaimer completion bash), or "
                    "add it to ~/.bashrc; zsh: source <(reclaimer completion zsh).")
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(handler=_run)


def verbs_and_flags() -> dict[str, list[str]]:
    from reclaimer.cli import build_parser  # noqa: PLC0415 - the whole parser, on demand

    parser = build_parser()
    choices: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices = dict(action.choices)
    return {verb: sorted(o for a in sub._actions for o in a.option_strings)
            for verb, sub in choices.items()}


def bash_script(table: dict[str, list[str]]) -> str:
    cases = "".join(f'        {verb}) opts="{" ".join(flags)}" ;;\n'
                    for verb, flags in table.items())
    return f"""# reclaimer bash completion (reclaimer completion bash)
_reclaimer() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" opts
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{" ".join(table)} --help --version" -- "$cur"))
        return
    fi
    case "${{COMP_WORDS[1]}}" in
{cases}        *) opts="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -F _reclaimer reclaimer
"""


def _run(args: argparse.Namespace) -> int:
    script = bash_script(verbs_and_flags())
    if args.shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    sys.stdout.write(script)
    return 0
