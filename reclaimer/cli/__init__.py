"""The `reclaimer` command: argument parsing and wiring only.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function, imported only when one of its verbs runs (`commands.VERBS`); the handler it
sets returns the process exit code (docs/design.md §8: 0 ok, 1 invalid input or failed
check, 2 usage error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reclaimer.cli import commands
from reclaimer.errors import InvalidInput, ReclaimerError

EXIT_OK = 0
EXIT_INVALID = 1
# 2, a usage error, is argparse's own exit code.


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given ``argv``, only its verb's module is imported."""
    parser = argparse.ArgumentParser(
        prog="reclaimer",
        description="Gives idle GPUs back: stops and restarts KServe InferenceServices by policy.",
    )
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register_for(subparsers, argv)
    return parser


class _Version(argparse.Action):
    """``--version``, looked up only when asked (importlib.metadata is slow to load)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            found = version("reclaimer")
        except PackageNotFoundError:
            found = "unknown"
        print(f"reclaimer {found}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
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
