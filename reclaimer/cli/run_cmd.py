"""`reclaimer run`: the long-running service (docs/design.md §7).

Flags win over ``RECLAIMER_*`` variables, which win over the config file. A bad setting
exits 1 with one line naming the key, before anything is started: that includes a
policy path that does not exist and an HTTP port something else already holds.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path
from typing import Any

from reclaimer.config import Settings, load_settings
from reclaimer.errors import ConfigInvalid

FLAG_KEYS = {
    "database": "database",
    "kubeconfig": "kubeconfig",
    "policies": "policies",
    "tick": "tick",
    "strategy": "executor.strategy",
    "http_port": "http.port",
    "identity": "leaderElection.identity",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the service: reconcile every tick",
                                   description="Run the service until SIGTERM: one "
                                   "reconcile every tick, edges on time, /metrics and probes.")
    parser.add_argument("--config", type=Path, default=None, help="YAML config file")
    parser.add_argument("--database", "--db", dest="database", default=None)
    parser.add_argument("--kubeconfig", default=None,
                        help="default: kubeconfig setting, $KUBECONFIG, ~/.kube/config, "
                             "in-cluster")
    parser.add_argument("--prometheus", default=None, help="Prometheus URL")
    parser.add_argument("--policies", action="append", default=None,
                        help="policy file or directory (repeatable)")
    parser.add_argument("--tick", default=None, help="e.g. 30s")
    parser.add_argument("--strategy", default=None, help="auto | native | managed")
    parser.add_argument("--http-port", dest="http_port", default=None)
    parser.add_argument("--identity", default=None, help="leader-election identity")
    parser.add_argument("--no-leader-election", action="store_true")
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS)
    parser.set_defaults(handler=_run)


def flags_of(args: argparse.Namespace) -> dict[str, Any]:
    flags: dict[str, Any] = {key: getattr(args, attr) for attr, key in FLAG_KEYS.items()}
    if args.prometheus:
        flags["prometheus"] = {"url": args.prometheus}
    if args.no_leader_election:
        flags["leaderElection.enabled"] = False
    return flags


def preflight(settings: Settings) -> None:
    """What would otherwise fail half-way through start-up, or only be logged."""
    missing = [p for p in settings.policies if not Path(p).exists()]
    if missing and settings.policies != Settings().policies:
        raise ConfigInvalid(key="policies", message=f"{missing[0]}: no such file or directory")
    port = settings.http.port
    if port:
        with socket.socket() as probe:
            try:
                probe.bind((settings.http.host, port))
            except OSError as exc:
                raise ConfigInvalid(key="http.port", message=(
                    f"cannot listen on {settings.http.host}:{port}: "
                    f"{exc.strerror or exc}")) from exc


def _run(args: argparse.Namespace) -> int:
    from reclaimer.clock import clock_from_env  # noqa: PLC0415 - keeps --help fast
    from reclaimer.service import logs, memory  # noqa: PLC0415
    from reclaimer.service.app import build, run  # noqa: PLC0415

    settings = load_settings(args.config, flags=flags_of(args))
    preflight(settings)
    logs.configure(level=args.log_level)
    memory.tune_collector()
    service = build(settings, clock=clock_from_env(os.environ))
    return run(service)
