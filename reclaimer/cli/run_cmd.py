"""`reclaimer run`: the long-running service (DESIGN §7).

Flags win over ``RECLAIMER_*`` variables, which win over the config file. A bad setting
exits 1 with one line naming the key, before anything is started.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from reclaimer.clock import clock_from_env
from reclaimer.config import load_settings
from reclaimer.service import logs
from reclaimer.service.app import build, run

FLAG_KEYS = {
    "database": "database",
    "kubeconfig": "kubeconfig",
    "policies": "policies",
    "tick": "tick",
    "strategy": "executor.strategy",
    "http_port": "http.port",
    "identity": "leaderElection.identity",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the service: reconcile every tick")
    parser.add_argument("--config", type=Path, default=None, help="YAML config file")
    parser.add_argument("--database", "--db", dest="database", default=None)
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--prometheus", default=None, help="Prometheus URL")
    parser.add_argument("--policies", action="append", default=None,
                        help="policy file or directory (repeatable)")
    parser.add_argument("--tick", default=None, help="e.g. 30s")
    parser.add_argument("--strategy", default=None, help="auto | native | managed")
    parser.add_argument("--http-port", dest="http_port", default=None)
    parser.add_argument("--identity", default=None, help="leader-election identity")
    parser.add_argument("--no-leader-election", action="store_true")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(handler=_run)


def flags_of(args: argparse.Namespace) -> dict[str, Any]:
    flags: dict[str, Any] = {key: getattr(args, attr) for attr, key in FLAG_KEYS.items()}
    if args.prometheus:
        flags["prometheus"] = {"url": args.prometheus}
    if args.no_leader_election:
        flags["leaderElection.enabled"] = False
    return flags


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, flags=flags_of(args))
    logs.configure(level=args.log_level)
    service = build(settings, clock=clock_from_env(os.environ))
    return run(service)
