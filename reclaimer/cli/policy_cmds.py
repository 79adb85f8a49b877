"""`validate`, `schedule` and `plan`: policy commands that need no cluster."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Filled in by the foundation work (issue 2)."""
