"""`reclaimer stop [KIND/]NS/NAME` and `reclaimer start ...`: manual, through the executor.

``NS/NAME`` is an InferenceService; ``llmisvc/NS/NAME`` and ``ig/NS/NAME`` (any kubectl
spelling of the kind, `refs.parse_ref`) name an LLMInferenceService or InferenceGraph.

The transition is recorded with trigger ``manual`` and the caller as actor, exactly like
one the service plans, so history and the GPU-hours report include it: it carries the
GPUs it frees (the pods' requests, or the ISVC's spec when no pod runs). A held service
is refused unless ``--ignore-hold`` says the person means it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from datetime import timedelta

from reclaimer.cli import manual_parts, remote_flags
from reclaimer.cli.refs import parse_ref
from reclaimer.config import env_name, parse_duration_value
from reclaimer.errors import ArgumentInvalid
from reclaimer.model import Action, ServiceKind, ServiceRef

OK_KINDS = frozenset({"applied", "verified"})


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = f"uid-{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for action in (Action.STOP, Action.START):
        parser = subparsers.add_parser(
            action.value, help=f"{action.value} one service now (trigger manual)",
            description=f"{action.value.capitalize()} one service now through the "
                        "executor, record it as manual, and wait until it is verified. "
                        "NS/NAME is an InferenceService; llmisvc/NS/NAME and ig/NS/NAME "
                        "name the other kinds.")
        parser.add_argument("ref", metavar="[KIND/]NS/NAME")
        parser.add_argument("--kubeconfig", default=None,
                            help="default: $RECLAIMER_KUBECONFIG, $KUBECONFIG, "
                                 "~/.kube/config, in-cluster")
        parser.add_argument("--db", default=None,
                            help="ledger (default: $RECLAIMER_DATABASE, else "
                                 "sqlite:///reclaimer.db)")
        parser.add_argument("--as", "--actor", "--who", dest="actor", default=None,
                            help="who acts (default: $USER@host)")
        parser.add_argument("--strategy", default="auto", help="auto | native | managed")
        parser.add_argument("--kserve-namespace", default="kserve")
        parser.add_argument("--timeout", default="5m", help="verification timeout")
        parser.add_argument("--no-wait", action="store_true", help="do not wait to verify")
        parser.add_argument("--ignore-hold", action="store_true",
                            help="act although the service is held")
        remote_flags.add_server_flags(parser)
        parser.set_defaults(handler=_run, action=action)


def _run(args: argparse.Namespace) -> int:
    from reclaimer.clock import clock_from_env  # noqa: PLC0415 - keeps --help fast

    ref = parse_ref(args.ref)
    if args.server:
        return _run_remote(args, ref)
    timeout: timedelta = parse_duration_value("--timeout", args.timeout)
    request = manual_parts.Request(
        ref=ref, action=args.action, actor=args.actor or default_actor(),
        kubeconfig=args.kubeconfig or os.environ.get(env_name("kubeconfig")) or None,
        database=args.db or os.environ.get("RECLAIMER_DATABASE") or "sqlite:///reclaimer.db",
        strategy=args.strategy, kserve_namespace=args.kserve_namespace, timeout=timeout,
        wait=not args.no_wait, ignore_hold=args.ignore_hold)
    clock = clock_from_env(os.environ)
    outcome = manual_parts.carry_out(request, now=clock.now,
                                     progress=_progress if sys.stderr.isatty() else None)
    return _report(outcome.action.value, outcome.ref, outcome.kind.value, outcome.message)


def _run_remote(args: argparse.Namespace, ref: ServiceRef) -> int:
    """The owners' API decides who you are from your token: ``--as`` cannot say it."""
    from reclaimer.cli import remote  # noqa: PLC0415 - keeps --help fast

    if args.actor:
        raise ArgumentInvalid("--as: with --server the service names you from your token")
    if ref.kind is not ServiceKind.INFERENCE_SERVICE:
        raise ArgumentInvalid(f"--server: the owners' API serves InferenceServices only; "
                              f"{ref} is acted on without --server")
    token = remote.bearer_token(token=args.token, kubeconfig=args.kubeconfig)
    kind, line = remote.transition(args.server, ref, args.action.value, token=token)
    print(line, file=sys.stdout if kind in OK_KINDS else sys.stderr)
    return 0 if kind in OK_KINDS else 1


def _progress(what: str, elapsed: timedelta, *, done: bool = False) -> None:
    """One line rewritten in place on a terminal: what it waits for and for how long."""
    seconds = int(elapsed.total_seconds())
    sys.stderr.write(f"\r{what} ({seconds // 60}m{seconds % 60:02d}s)")
    sys.stderr.write("\n" if done else "")
    sys.stderr.flush()


def _report(action: str, ref: ServiceRef, kind: str, message: str) -> int:
    line = f"{action} {ref}: {kind}: {message}"
    print(line, file=sys.stdout if kind in OK_KINDS else sys.stderr)
    return 0 if kind in OK_KINDS else 1
