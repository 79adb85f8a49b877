"""The `reclaimer` command: argument parsing and wiring only.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function; the handler it sets returns the process exit code (DESIGN §8: 0 ok,
1 invalid input or failed check, 2 usage error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reclaimer.cli import commands
from reclaimer.errors import InvalidInput, ReclaimerError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reclaimer",
        description="Gives idle GPUs back: stops and restarts KServe InferenceServices by policy.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except InvalidInput as exc:
        print(f"reclaimer: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ReclaimerError as exc:
        print(f"reclaimer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return code


def entrypoint() -> None:
    sys.exit(main())
