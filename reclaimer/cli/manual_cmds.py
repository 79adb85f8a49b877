"""`reclaimer stop NS/NAME` and `reclaimer start NS/NAME`: manual, through the executor.

The transition is recorded with trigger ``manual`` and the caller as actor, exactly like
one the service plans, so history and the GPU-hours report include it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from datetime import timedelta

from reclaimer.clock import clock_from_env
from reclaimer.config import parse_duration_value
from reclaimer.errors import ArgumentInvalid
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, Outcome, OutcomeKind
from reclaimer.executor.strategy import parse_strategy
from reclaimer.executor.wait import wait_verified
from reclaimer.kube.client import load_api_client
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import default_mode
from reclaimer.kube.kserve_version import controller_version
from reclaimer.kube.rest import Rest
from reclaimer.kube.scope import Scope
from reclaimer.ledger import open_ledger
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger

OK_KINDS = frozenset({OutcomeKind.APPLIED, OutcomeKind.VERIFIED})


def parse_ref(text: str) -> ServiceRef:
    namespace, _, name = text.partition("/")
    if not namespace or not name or "/" in name:
        raise ArgumentInvalid(f"NS/NAME: {text!r} is not NAMESPACE/NAME (e.g. team-a/llama)")
    return ServiceRef(namespace, name)


def default_actor() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for action in (Action.STOP, Action.START):
        parser = subparsers.add_parser(
            action.value, help=f"{action.value} one InferenceService now (trigger manual)")
        parser.add_argument("ref", metavar="NS/NAME")
        parser.add_argument("--kubeconfig", default=None)
        parser.add_argument("--db", default=os.environ.get("RECLAIMER_DATABASE",
                                                          "sqlite:///reclaimer.db"))
        parser.add_argument("--actor", default=None, help="default: $USER@host")
        parser.add_argument("--strategy", default="auto", help="auto | native | managed")
        parser.add_argument("--kserve-namespace", default="kserve")
        parser.add_argument("--timeout", default="5m", help="verification timeout")
        parser.add_argument("--no-wait", action="store_true", help="do not wait to verify")
        parser.set_defaults(handler=_run, action=action)


def _run(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)
    timeout: timedelta = parse_duration_value("--timeout", args.timeout)
    rest = Rest(load_api_client(args.kubeconfig))
    actor = args.actor or default_actor()
    # Verification LISTs only the service's namespace: inside the pod, with the chart's
    # watchNamespaces Roles, a cluster-wide LIST would be forbidden.
    cluster = KubeCluster(rest, events=EventRecorder(rest, instance=actor),
                          scope=Scope((ref.namespace,)))
    clock = clock_from_env(os.environ)
    options = ExecutorOptions(strategy=parse_strategy(args.strategy), verify_timeout=timeout,
                              default_mode=default_mode(rest, namespace=args.kserve_namespace))
    ledger = open_ledger(args.db)
    try:
        executor = Executor(cluster, ledger, actor=actor, options=options)
        # What KServe's stop covers depends on its version (strategy.native_kind).
        executor.detected_version = controller_version(rest, namespace=args.kserve_namespace)
        obj = cluster.get_isvc(ref)
        now = clock.now()
        transition = Transition(ref=ref, uid=str(obj["metadata"].get("uid", "")),
                                action=args.action, trigger=Trigger.MANUAL,
                                reason=Reason.MANUAL, policy=None, at=now)
        outcome = executor.apply(transition, at=now)
        if outcome.kind is OutcomeKind.APPLIED and not args.no_wait:
            outcome = wait_verified(executor, outcome, now=clock.now,
                                    timeout=timeout.total_seconds())
    finally:
        ledger.close()
    return _report(outcome)


def _report(outcome: Outcome) -> int:
    line = f"{outcome.action.value} {outcome.ref}: {outcome.kind.value}: {outcome.message}"
    print(line, file=sys.stdout if outcome.kind in OK_KINDS else sys.stderr)
    return 0 if outcome.kind in OK_KINDS else 1
