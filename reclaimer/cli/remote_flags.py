"""``--server`` and ``--token``: the flags of verbs that may use the owners' API."""

from __future__ import annotations

import argparse


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=None, metavar="URL",
                        help="ask reclaimer's owners' API at URL with your Kubernetes token "
                             "instead of using the database (docs/owners.md)")
    parser.add_argument("--token", default=None,
                        help="with --server: bearer token (default: $RECLAIMER_TOKEN, "
                             "else your kubeconfig's)")
