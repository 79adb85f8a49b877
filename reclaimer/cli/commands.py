"""The list of subcommand groups; one module each, so parts evolve independently."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from reclaimer.cli import (
    demo,
    ledger_cmds,
    manual_cmds,
    plan_cmd,
    policy_cmds,
    run_cmd,
    sandbox_cmds,
    signals_cmds,
)

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRARS: tuple[Registrar, ...] = (policy_cmds.register, ledger_cmds.register,
                                     sandbox_cmds.register, manual_cmds.register,
                                     signals_cmds.register, plan_cmd.register,
                                     run_cmd.register, demo.register)
