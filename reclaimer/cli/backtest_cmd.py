"""`reclaimer backtest`: what a policy would have given back, and what it would have cost.

Replays the service's loop over Prometheus history between ``--from`` and ``--to``
(`reclaimer.backtest`): the same `decide()`, signal rules and safety limits, with the
simulated states fed back. Output: per service and in total, the GPU-hours reclaimed,
stops, starts, cold starts, requests that found a service stopped, and what an oracle
that knew every request would have reclaimed (docs/backtest.md). Exit 1 on invalid
input or when Prometheus cannot answer (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from reclaimer.backtest.options import Options, Restart
from reclaimer.backtest.png import draw
from reclaimer.backtest.run import AUTO, Alternative, Span, read_for, result_of
from reclaimer.backtest.timeline import Timeline
from reclaimer.cli.output import emit, print_table
from reclaimer.cli.plan_cmd import load_inventory
from reclaimer.cli.policy_cmds import parse_rfc3339
from reclaimer.cli.report_png import require_png
from reclaimer.config import load_settings
from reclaimer.errors import ArgumentInvalid, InvalidInput
from reclaimer.model import DeploymentMode, Service, ServiceKind
from reclaimer.policy.durations import parse_duration
from reclaimer.policy_files import load_paths
from reclaimer.service.app import decide_settings
from reclaimer.signals.settings import PrometheusSettings

EXIT_OK, EXIT_INVALID = 0, 1
COLUMNS = ("namespace", "name", "policy", "gpus", "gpuHoursReclaimed", "oracleGpuHours",
           "stops", "starts", "coldStarts", "requestsWhileStopped")
TOTAL_COLUMNS = ("idleAfter", "gpuHoursReclaimed", "oracleGpuHours", "fractionOfOracle",
                 "stops", "coldStarts", "requestsWhileStopped", "stopsDuringTraffic",
                 "unknownServiceHours")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verb = subparsers.add_parser(
        "backtest", help="replay policies over Prometheus history: GPU-hours and cold starts",
        description="Replay the service's loop over [--from, --to) against Prometheus "
                    "history: the same decide(), signal rules and safety limits.")
    _what_to_read(verb)
    _how_to_replay(verb)
    verb.add_argument("--png", metavar="FILE",
                      help="draw GPU-hours against cold starts per alternative, and the "
                           "timeline of the service with the most cold starts (needs "
                           "the extra `plot`)")
    verb.add_argument("--uncompressed", action="store_true",
                      help="ask Prometheus for uncompressed answers: it spends a third "
                           "to a half of the CPU, for 17 times the bytes (about 1.1 GB "
                           "for a week of 1,000 ISVCs); for a Prometheus on this host or "
                           "a fast link, not through a port-forward")
    verb.add_argument("-o", "--output", choices=["table", "json", "yaml"], default="table")
    verb.set_defaults(handler=run_backtest)


def _what_to_read(verb: argparse.ArgumentParser) -> None:
    """The policies, the services (a file or a cluster), Prometheus and the config."""
    verb.add_argument("--policies", nargs="+", type=Path, required=True, metavar="PATH")
    source = verb.add_mutually_exclusive_group(required=True)
    source.add_argument("--inventory", type=Path, metavar="FILE",
                        help="`kubectl get inferenceservices -A -o yaml` output")
    source.add_argument("--kubeconfig", metavar="FILE",
                        help="read the services (every KServe kind), their modes and GPUs "
                             "from this cluster instead")
    verb.add_argument("--prometheus", metavar="URL", help="overrides the config's prometheus.url")
    verb.add_argument("--config", type=Path, metavar="FILE",
                      help="service config (YAML): signal presets, safety limits")


def _how_to_replay(verb: argparse.ArgumentParser) -> None:
    """The span and step, how services restart, and the alternatives to compare."""
    verb.add_argument("--from", dest="start", required=True, metavar="T", help="RFC 3339")
    verb.add_argument("--to", dest="end", required=True, metavar="T", help="RFC 3339")
    verb.add_argument("--step", default="1m", help="replay step (default 1m)")
    verb.add_argument("--start-time", default="5m",
                      help="how long a started service takes to serve (default 5m)")
    verb.add_argument("--restart", choices=[r.value for r in Restart],
                      default=Restart.ON_REQUEST.value,
                      help="on-request (default): a request starts a stopped service; "
                           "never: it stays stopped until a start edge")
    verb.add_argument("--compare", metavar="LIST",
                      help="comma-separated idle.after values to replay too, e.g. 15m,30m,1h,auto")
    verb.add_argument("--default-mode", default=DeploymentMode.KNATIVE.value,
                      choices=[m.value for m in DeploymentMode if m is not DeploymentMode.UNKNOWN])


def _duration(flag: str, text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except InvalidInput as exc:
        raise ArgumentInvalid(f"{flag}: {exc}") from exc
    if value <= timedelta(0):
        raise ArgumentInvalid(f"{flag}: {text!r} must be longer than 0s")
    return value


def _compare(text: str | None) -> list[Alternative]:
    """``15m,30m,auto``: fixed ``idle.after`` values, or ``auto`` (docs/backtest.md)."""
    if not text:
        return []
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return [AUTO if part == "auto" else _duration("--compare", part) for part in parts]


def cluster_inventory(kubeconfig: str, *, default_mode: DeploymentMode) -> list[Service]:
    """Every service of every KServe kind in the cluster, one LIST per kind, read as
    the service reads them (`service_from_isvc`: kind, mode, GPUs requested)."""
    from reclaimer.kube import rest  # noqa: PLC0415 - the Kubernetes client only for this flag
    from reclaimer.kube.client import load_api_client  # noqa: PLC0415
    from reclaimer.kube.cluster import KubeCluster  # noqa: PLC0415
    from reclaimer.kube.isvc import service_from_isvc  # noqa: PLC0415

    api = load_api_client(kubeconfig)
    cluster = KubeCluster(rest.Rest(api))
    cluster.kinds |= set(ServiceKind)
    try:
        return [service_from_isvc(obj, default_mode=default_mode)
                for obj in cluster.list_isvcs()]
    finally:
        api.close()  # type: ignore[no-untyped-call]


def run_backtest(args: argparse.Namespace) -> int:
    if args.png:
        require_png(args.png)
    span = _span(args)
    services = _services(args)
    policies, errors = load_paths(args.policies)
    for error in errors:
        print(f"reclaimer: {error}", file=sys.stderr)
    flags = {"prometheus": {"url": args.prometheus}} if args.prometheus else {}
    config = load_settings(args.config, flags=flags)
    prometheus = PrometheusSettings.from_mapping(config.prometheus)
    options = Options(start_time=_duration("--start-time", args.start_time),
                      restart=Restart(args.restart), settings=decide_settings(config),
                      max_sample_age=prometheus.max_sample_age)
    compare = _compare(args.compare)
    history = read_for(policies, prometheus=prometheus, span=span, options=options,
                       compare=compare, compressed=not args.uncompressed)
    timeline: list[Timeline] = []
    result = result_of(policies, services, history, span=span, options=options,
                       compare=compare, timeline=timeline)
    if args.png:
        draw(result, timeline[0] if timeline else None, args.png)
    if not emit(result, args.output, sys.stdout):
        show(result, out=sys.stdout)
    return EXIT_INVALID if errors else EXIT_OK


def _span(args: argparse.Namespace) -> Span:
    """[--from, --to) at --step; an empty or reversed span is refused."""
    start = parse_rfc3339(args.start, flag="--from")
    end = parse_rfc3339(args.end, flag="--to")
    if end <= start:
        raise ArgumentInvalid("--to: must be after --from")
    return Span(start, end, _duration("--step", args.step))


def _services(args: argparse.Namespace) -> list[Service]:
    """From --inventory's file, else from --kubeconfig's cluster."""
    mode = DeploymentMode(args.default_mode)
    return (load_inventory(args.inventory, default_mode=mode) if args.inventory
            else cluster_inventory(args.kubeconfig, default_mode=mode))


def show(result: dict[str, Any], *, out: Any) -> None:
    """Per service, then the totals of the policies as given and of each alternative."""
    print_table(result["services"], COLUMNS, out)
    out.write("\n")
    rows: list[dict[str, Any]] = [{"idleAfter": "(as written)", **result["totals"]}]
    rows += [{"idleAfter": a["idleAfter"], **a["totals"]} for a in result["alternatives"]]
    print_table(rows, TOTAL_COLUMNS, out)

