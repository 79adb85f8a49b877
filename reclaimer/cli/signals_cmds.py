"""`reclaimer signals`: what the service would see from Prometheus (docs/design.md §8).

One evaluation with the service's own settings (``--config`` file, environment,
flags), printed one item per service: InferenceServices with the configured presets,
LLMInferenceServices with their vLLM profile (`signals.kinds`); a line says which kinds
no evaluation can measure (InferenceGraph: schedule only). Unknown values are null. A
failed evaluation exits 1 with the reason: the service would treat every ISVC as unknown.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from reclaimer.cli.output import add_output_flag, duration_text, emit, print_json, print_table
from reclaimer.cli.policy_cmds import parse_rfc3339
from reclaimer.clock import clock_from_env
from reclaimer.config import load_settings
from reclaimer.errors import ArgumentInvalid, ConfigInvalid
from reclaimer.model import KIND_SHORT_NAMES, ServiceKind, Signals
from reclaimer.signals.kinds import NO_SIGNALS
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings, parse_duration

# table column -> JSON key; the table uses short headers, the JSON the design's names
TABLE = {"kind": "kind", "namespace": "namespace", "name": "name", "state": "state",
         "requests": "requests",
         "idle": "secondsSinceLastRequest", "gpu_max": "gpuUtilizationMax",
         "gpu_mean": "gpuUtilizationMean", "gpus": "gpus", "covered_s": "coverageSeconds",
         "reason": "reason"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "signals", help="show what Prometheus says about every ISVC, as the service sees it",
        description="One evaluation of the configured Prometheus signals, per ISVC.")
    parser.add_argument("--config", type=Path, metavar="FILE", help="service config (YAML)")
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus URL (overrides config)")
    parser.add_argument("--at", metavar="T", help="end of the window, RFC 3339 (default: now)")
    parser.add_argument("--window", default="30m", metavar="DURATION",
                        help="length of the window, e.g. 30m, 1h (default 30m)")
    parser.add_argument("--queries", action="store_true",
                        help="print the PromQL of one evaluation instead of running it")
    add_output_flag(parser)
    parser.set_defaults(handler=run_signals)


def run_signals(args: argparse.Namespace) -> int:
    settings = _settings(args)
    at = parse_rfc3339(args.at, flag="--at") if args.at else clock_from_env(os.environ).now()
    window = _window(args.window)
    source = PrometheusSignals(settings)
    if args.queries:
        return _print_queries(source, window=window, json_output=args.output == "json")
    try:
        signals = source.fetch_windows(at=at, windows=(window,), kinds=tuple(ServiceKind))
    finally:
        source.close()
    items = [item(s) for s in signals[window].values()]
    if not emit(items, args.output, sys.stdout):
        print_table(list(_rows(items, window=window)), tuple(TABLE), sys.stdout)
        if not items:
            print("(no service has series in Prometheus for this window)")
        for reason in NO_SIGNALS.values():
            print(f"({reason})")
    return 0


def _print_queries(source: PrometheusSignals, *, window: timedelta, json_output: bool) -> int:
    queries = {q.value: text for q, text in source.queries(window=window).items()}
    if json_output:
        print_json(queries, sys.stdout)
    else:
        sys.stdout.write("".join(f"# {name}\n{text}\n\n" for name, text in queries.items()))
    return 0


def _settings(args: argparse.Namespace) -> PrometheusSettings:
    flags = {"prometheus": {"url": args.prometheus}} if args.prometheus else {}
    config = load_settings(args.config, flags=flags)
    return PrometheusSettings.from_mapping(config.prometheus)


def _window(text: str) -> timedelta:
    try:
        return parse_duration("--window", text)
    except ConfigInvalid as exc:
        raise ArgumentInvalid(f"--window: {exc.message}") from exc


def item(signals: Signals) -> dict[str, Any]:
    """The JSON item of docs/design.md §8."""
    return {
        "kind": signals.ref.kind.value,
        "namespace": signals.ref.namespace,
        "name": signals.ref.name,
        "state": signals.state.value,
        "requests": signals.requests,
        "secondsSinceLastRequest": signals.seconds_since_last_request,
        "gpuUtilizationMax": signals.gpu_utilization_max,
        "gpuUtilizationMean": signals.gpu_utilization_mean,
        "gpus": signals.gpus,
        "coverageSeconds": signals.coverage_seconds,
        "reason": signals.reason,
    }


def _rows(items: Iterable[dict[str, Any]], *, window: timedelta
          ) -> Iterable[dict[str, Any]]:
    for entry in items:
        row = {column: _cell(entry[key]) for column, key in TABLE.items()}
        row["kind"] = KIND_SHORT_NAMES[ServiceKind(entry["kind"])]
        row["idle"] = _idle(entry, window=window)
        yield row


def _idle(entry: dict[str, Any], *, window: timedelta) -> str | None:
    """Time since the last request as a duration; a known service with no request in the
    whole window has been idle at least that long (the series says no more)."""
    seconds = entry["secondsSinceLastRequest"]
    if seconds is not None:
        return duration_text(seconds)
    if entry["state"] == "known" and not entry["requests"]:
        return f">{duration_text(window)}"
    return None


def _cell(value: object) -> object:
    return f"{value:.4g}" if isinstance(value, float) else value


