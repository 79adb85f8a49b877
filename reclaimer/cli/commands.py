"""Every verb, the module that registers it, and its one-line summary.

The table is plain data so that `reclaimer --help` and a verb's start-up import only
what that verb needs: the parser gets a stub for every other verb (name and summary,
enough for ``--help``) and the real subparser, with its flags, only for the verb given.
The summary here is the one each module passes as ``help=`` (a test keeps them equal).

Other installed distributions may add verbs through the ``reclaimer.verbs`` entry-point
group: each entry loads to a table like `VERBS`, modules named in full. The development
distribution (dev/, `make venv`) adds ``demo`` and ``sandbox`` that way, so the product
neither ships nor imports the sandbox. The group is read only when the verb given is not
one of the product's (or for ``--help``): ``importlib.metadata`` is slow to load.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence

Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
ENTRY_POINTS = "reclaimer.verbs"

# verb -> (module, summary), in the order `--help` lists them
VERBS: dict[str, tuple[str, str]] = {
    "validate": ("policy_cmds", "check ReclaimPolicy files; exit 1 if any document is invalid"),
    "schedule": ("policy_cmds", "list the start/stop edges of policies between two instants"),
    "plan": ("plan_cmd", "show what reclaimer would do now, offline, for a dump of ISVCs"),
    "signals": ("signals_cmds",
                "show what Prometheus says about every ISVC, as the service sees it"),
    "backtest": ("backtest_cmd",
                 "replay policies over Prometheus history: GPU-hours and cold starts"),
    "run": ("run_cmd", "run the service: reconcile every tick"),
    "stop": ("manual_cmds", "stop one service now (trigger manual)"),
    "start": ("manual_cmds", "start one service now (trigger manual)"),
    "history": ("ledger_cmds", "recorded transitions, newest first"),
    "hold": ("ledger_cmds", "keep reclaimer's hands off one service"),
    "release": ("ledger_cmds", "end a hold"),
    "holds": ("ledger_cmds", "list the holds in force"),
    "report": ("ledger_cmds", "GPU-hours reclaimed"),
    "db": ("ledger_cmds", "the ledger database schema"),
    "completion": ("completion_cmd", "print a shell completion script (bash or zsh)"),
}


def product_verbs() -> dict[str, tuple[str, str]]:
    """`VERBS` with each module named in full."""
    return {verb: (f"reclaimer.cli.{module}", summary)
            for verb, (module, summary) in VERBS.items()}


def all_verbs() -> dict[str, tuple[str, str]]:
    """The product's verbs, then those of installed ``reclaimer.verbs`` entry points (a
    product verb wins over an added one of the same name)."""
    from importlib.metadata import entry_points  # noqa: PLC0415 - slow; only when needed

    verbs = product_verbs()
    for point in entry_points(group=ENTRY_POINTS):
        table: dict[str, tuple[str, str]] = point.load()
        for verb, (module, summary) in table.items():
            verbs.setdefault(verb, (module, summary))
    return verbs


def registrar(module: str) -> Registrar:
    loaded = importlib.import_module(module)
    register: Registrar = loaded.register
    return register


def register_for(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
                 argv: Sequence[str] | None) -> None:
    """All verbs' modules when ``argv`` is None; else the given verb's module and stubs."""
    first = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    verbs = product_verbs() if first in VERBS else all_verbs()
    chosen = first if first is None or first in verbs else ""
    modules = (list(dict.fromkeys(m for m, _ in verbs.values())) if chosen is None
               else [verbs[chosen][0]] if chosen else [])
    for verb, (module, summary) in verbs.items():
        if module not in modules:
            subparsers.add_parser(verb, help=summary, add_help=False)
    for module in modules:
        registrar(module)(subparsers)
