"""`reclaimer plan`: what reclaimer would do, offline, against a dump of a cluster.

The inventory is what ``kubectl get inferenceservices -A -o yaml`` (or ``-o json``)
prints: a ``List`` whose ``items`` are InferenceServices (LLMInferenceServices and
InferenceGraphs too: ``kubectl get isvc,llmisvc,ig -A -o yaml``; other kinds are
skipped). A bare list, a single ISVC or several YAML documents are accepted too. Offline
there are no signals and no ledger, so idle is unknown (no idle stops, schedule stops
under ``busyAtStop: defer`` show as deferred) and every edge looks unapplied: the plan
shows the latest due edge per service, as a freshly started reclaimer would apply it.

JSON (docs/design.md §8): a list of ``{"kind", "namespace", "name", "action", "trigger",
"policy", "reason", "at"}``, plus ``"blocked": "<why>"`` for entries not acted on.
Conflicts and alerts go to stderr, and so does a warning for every policy whose idle
rule governs a kind no signal measures (InferenceGraph: only its schedule stops it).
Exit 1 when a policy document or the inventory is invalid (the valid policies are still
planned).

With ``--prometheus URL`` or ``--config FILE`` the signals are evaluated at ``--at``
exactly as a service tick evaluates them (`service.observe.gather_signals`, the
config's safety settings and signal presets), so the plan shows the deferral or idle
verdict a real tick would make; each JSON item then carries its ``"evidence"``. A
failed evaluation makes every service unknown, as in the service, and is reported on
stderr. The ledger is still empty: every edge looks unapplied.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from reclaimer.cli import plan_table
from reclaimer.cli.output import add_output_flag, emit
from reclaimer.cli.policy_cmds import parse_rfc3339
from reclaimer.clock import clock_from_env
from reclaimer.config import load_settings
from reclaimer.errors import InvalidInput
from reclaimer.executor.managed.runtime import plan_refusals
from reclaimer.kube.isvc import service_from_isvc
from reclaimer.model import (
    Action,
    DecideSettings,
    DeploymentMode,
    LedgerView,
    Plan,
    Policy,
    Service,
    ServiceKind,
    ServiceRef,
    Signals,
    Transition,
)
from reclaimer.policy.auto_idle import AutoChoice
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import governed
from reclaimer.policy_files import load_paths
from reclaimer.service.app import decide_settings
from reclaimer.service.auto_timeouts import AutoTimeouts, PrometheusBusy
from reclaimer.service.observe import gather_signals
from reclaimer.signals.kinds import NO_SIGNALS
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings

EXIT_OK, EXIT_INVALID = 0, 1
_KINDS = frozenset(kind.value for kind in ServiceKind)
COLUMNS = ("namespace", "name", "action", "trigger", "policy", "reason", "blocked")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = subparsers.add_parser(
        "plan", help="show what reclaimer would do now, offline, for a dump of ISVCs",
        description="Decide against `kubectl get inferenceservices -A -o yaml` output; "
                    "no cluster, no metrics (idle is unknown), no ledger.")
    plan.add_argument("--policies", nargs="+", type=Path, required=True, metavar="PATH",
                      help="ReclaimPolicy files or directories")
    plan.add_argument("--inventory", type=Path, required=True, metavar="FILE",
                      help="a List of InferenceServices, YAML or JSON")
    plan.add_argument("--at", metavar="T", help="RFC 3339 instant with offset (default: now)")
    plan.add_argument("--prometheus", metavar="URL",
                      help="evaluate the signals at --at as the service does (overrides "
                           "the config's prometheus.url)")
    plan.add_argument("--config", type=Path, metavar="FILE",
                      help="service config (YAML): Prometheus, signal presets, safety")
    plan.add_argument("--default-mode", default=DeploymentMode.KNATIVE.value,
                      choices=[m.value for m in DeploymentMode if m is not DeploymentMode.UNKNOWN],
                      help="the cluster's defaultDeploymentMode (default: Knative)")
    add_output_flag(plan)
    plan.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    now = (parse_rfc3339(args.at, flag="--at") if args.at
           else clock_from_env(os.environ).now())
    mode = DeploymentMode(args.default_mode)
    objects = read_inventory(args.inventory)
    services = services_of(objects, args.inventory, default_mode=mode)
    policies, errors = load_paths(args.policies)
    for error in errors:
        print(f"reclaimer: {error}", file=sys.stderr)
    online = bool(args.prometheus or args.config)
    settings, signals, auto = _signals(args, now, policies, services) if online else (
        DecideSettings(), {}, {})
    plan = runtime_refused(decide(now, policies, services, signals=signals,
                                  ledger=LedgerView(), settings=settings, auto=auto),
                           [obj for _, obj in objects], default_mode=mode)
    _warn(plan)
    _schedule_only(policies, services)
    items = [plan_item(t, evidence=online) for t in plan.transitions]
    if not emit(items, args.output, sys.stdout):
        rows = [{**item, "evidence": _compact(item["evidence"])} if online else item
                for item in items]
        plan_table.show(rows, policies=policies, services=services, at=now,
                        wide=args.output == "wide", out=sys.stdout,
                        extra=("evidence",) if online else ())
    return EXIT_INVALID if errors else EXIT_OK


def _signals(args: argparse.Namespace, now: datetime, policies: Sequence[Policy],
             services: Sequence[Service]
             ) -> tuple[DecideSettings, Mapping[ServiceRef, Signals],
                        Mapping[ServiceRef, AutoChoice]]:
    """The service's own evaluation at ``now``: its windows, presets and fail-safe,
    with ``idle.after: auto`` timeouts learned as the service learns them."""
    flags = {"prometheus": {"url": args.prometheus}} if args.prometheus else {}
    config = load_settings(args.config, flags=flags)
    settings = decide_settings(config)
    prometheus = PrometheusSettings.from_mapping(config.prometheus)
    source = PrometheusSignals(prometheus)
    matches = governed(policies, services)
    auto = AutoTimeouts(PrometheusBusy(prometheus)).choose(matches, now=now)
    try:
        gathered = gather_signals(source, matches, now=now,
                                  traffic_window=settings.busy_lookback, auto=auto)
    finally:
        source.close()
    for failure in gathered.failures:
        print(f"reclaimer: warning: {failure}; every service is unknown, as in a tick",
              file=sys.stderr)
    return settings, gathered.by_service, auto


_BOOKKEEPING = frozenset({"edgeAt", "dueAt", "edgeKey", "rule", "lateSeconds", "busyAtStop",
                          "timeZone"})


def _compact(evidence: Mapping[str, Any]) -> str:
    """The signal evidence on one table line (the JSON keeps all of it)."""
    return " ".join(f"{key}={f'{value:.4g}' if isinstance(value, float) else value}"
                    for key, value in evidence.items() if key not in _BOOKKEEPING)


def plan_item(transition: Transition, *, evidence: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": transition.ref.kind.value,
        "namespace": transition.ref.namespace, "name": transition.ref.name,
        "action": transition.action.value, "trigger": transition.trigger.value,
        "policy": transition.policy, "reason": transition.reason.value,
        "at": transition.at.isoformat()}
    if transition.blocked is not None:
        item["blocked"] = transition.blocked
    if evidence:
        item["evidence"] = dict(transition.evidence)
    return item


def load_inventory(path: Path, *, default_mode: DeploymentMode) -> list[Service]:
    """Every InferenceService in the file; errors name the file and the item."""
    return services_of(read_inventory(path), path, default_mode=default_mode)


def read_inventory(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """Every InferenceService object in the file, with where it is."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise InvalidInput(f"--inventory: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"--inventory: {path} is not a UTF-8 text file") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"--inventory: {path} is not YAML or JSON: {exc}") from exc
    return list(_items(documents, str(path)))


def services_of(objects: Sequence[tuple[str, Mapping[str, Any]]], path: Path, *,
                default_mode: DeploymentMode) -> list[Service]:
    services = []
    for where, obj in objects:
        try:
            services.append(service_from_isvc(obj, default_mode=default_mode))
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc}") from exc
    if not services:
        raise InvalidInput(f"--inventory: {path} holds no InferenceService (expected the "
                           "output of `kubectl get inferenceservices -A -o yaml`)")
    return services


def runtime_refused(plan: Plan, objects: Sequence[Mapping[str, Any]], *,
                    default_mode: DeploymentMode) -> Plan:
    """A ModelMesh stop whose runtime another running InferenceService uses is shown
    blocked with the executor's words (`runtime.plan_refusals`)."""
    stopping = {t.ref for t in plan.actionable if t.action is Action.STOP}
    isvcs, refused = [dict(obj) for obj in objects], {}
    while found := plan_refusals(stopping, isvcs, default_mode=default_mode):
        refused.update(found)  # a user refused keeps running: ask again without it
        stopping -= found.keys()
    if not refused:
        return plan
    return replace(plan, transitions=tuple(
        replace(t, blocked=refused[t.ref]) if t.actionable and t.action is Action.STOP
        and t.ref in refused else t for t in plan.transitions))


def _items(documents: list[object], source: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        prefix = f"{source}[{index}]" if len(documents) > 1 else source
        items = doc.get("items") if isinstance(doc, Mapping) and "items" in doc else doc
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            raise InvalidInput(f"{prefix}: items: expected a list of InferenceServices")
        for number, item in enumerate(items):
            where = f"{prefix}: items[{number}]"
            if not isinstance(item, Mapping):
                raise InvalidInput(f"{where}: not a mapping")
            if item.get("kind", "InferenceService") in _KINDS:
                yield where, item


def _schedule_only(policies: Sequence[Policy], services: Sequence[Service]) -> None:
    """An idle rule over a kind no signal measures never stops it: said, not silent."""
    said = set()
    for match in governed(policies, services):
        reason = NO_SIGNALS.get(match.service.ref.kind)
        key = (match.policy.key, match.service.ref.kind)
        if reason is not None and match.policy.idle is not None and key not in said:
            said.add(key)
            print(f"reclaimer: warning: policy {match.policy.key}: its idle rule governs "
                  f"{match.service.ref.kind.value}s: {reason}", file=sys.stderr)


def _warn(plan: Plan) -> None:
    for conflict in plan.conflicts:
        print(f"reclaimer: warning: {conflict.ref}: policies {', '.join(conflict.policies)} "
              f"have the same priority; using {conflict.chosen}", file=sys.stderr)
    for alert in plan.alerts:
        print(f"reclaimer: warning: {alert}", file=sys.stderr)
