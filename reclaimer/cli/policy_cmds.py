"""`validate` and `schedule`: policy commands that need no cluster (docs/design.md §8).

`validate` reports every document, valid or not, and exits 1 if any is invalid; its
JSON is the design's list of errors (``[]`` when all are valid). `schedule` prints the edges
of the given policies between two instants, in each policy's own zone; invalid documents
are reported on stderr, the valid ones are still scheduled, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reclaimer.cli.output import add_output_flag, emit, print_table
from reclaimer.cli.validate_errors import every_error
from reclaimer.errors import ArgumentInvalid, PolicyInvalid
from reclaimer.model import Edge, Policy
from reclaimer.policy.schedule import edges_between
from reclaimer.policy.schema import WHOLE_DOCUMENT
from reclaimer.policy_files import DocumentResult, check_paths, load_paths, policy_files

EXIT_OK, EXIT_INVALID = 0, 1
RFC3339_EXAMPLE = "2026-03-30T08:00:00+02:00"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = subparsers.add_parser(
        "validate", help="check ReclaimPolicy files; exit 1 if any document is invalid",
        description="Check ReclaimPolicy files and directories (their *.yaml, *.yml).")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_output_flag(validate)
    validate.set_defaults(handler=run_validate)
    schedule = subparsers.add_parser(
        "schedule", help="list the start/stop edges of policies between two instants",
        description="List schedule edges in each policy's time zone, DST included.")
    schedule.add_argument("paths", nargs="+", type=Path, metavar="POLICY_FILE")
    schedule.add_argument("--from", dest="start", required=True, metavar="T",
                          help=f"RFC 3339 with offset, e.g. {RFC3339_EXAMPLE} (exclusive)")
    schedule.add_argument("--to", dest="end", required=True, metavar="T",
                          help="RFC 3339 with offset (inclusive)")
    add_output_flag(schedule)
    schedule.set_defaults(handler=run_schedule)


def run_validate(args: argparse.Namespace) -> int:
    """The table and JSON list the same errors; ``-o wide`` lists every document."""
    results = validation_results(args.paths)
    errors = [error_item(r.error) for r in results if r.error]
    if args.output == "wide":
        print_table([_validate_row(r) for r in results],
                    ("file", "document", "policy", "valid", "message"), sys.stdout)
    elif not emit(errors, args.output, sys.stdout) and errors:
        print_table(errors, ("file", "document", "field", "message"), sys.stdout)
    if args.output in ("table", "wide"):
        print(_validate_summary(results))
    return EXIT_INVALID if errors else EXIT_OK


def _validate_summary(results: Sequence[DocumentResult]) -> str:
    documents = {(r.source, r.document) for r in results}
    invalid = {(r.source, r.document) for r in results if r.error}
    files = len({r.source for r in results})
    if not invalid:
        return f"all {len(documents)} document(s) in {files} file(s) are valid"
    return (f"{len(invalid)} of {len(documents)} document(s) in {files} file(s) invalid; "
            "-o wide lists every document")


def validation_results(paths: Sequence[Path]) -> list[DocumentResult]:
    """Every document's outcome, every error of an invalid one, and a file without any
    document as an error of its own (an empty file is a mistake, not a valid policy)."""
    results = check_paths(paths)
    seen = {r.source for r in results}
    results += [DocumentResult(str(f), 0, error=PolicyInvalid(
        source=str(f), document=0, field=WHOLE_DOCUMENT,
        message="no ReclaimPolicy document in this file")) for f in policy_files(paths)
        if str(f) not in seen]
    order = {str(f): n for n, f in enumerate(policy_files(paths))}
    results.sort(key=lambda r: order.get(r.source, -1))
    return [expanded for r in results for expanded in _expand(r)]


def _expand(result: DocumentResult) -> list[DocumentResult]:
    if result.error is None:
        return [result]
    return [DocumentResult(result.source, result.document, error=error)
            for error in every_error(result.error)]


def run_schedule(args: argparse.Namespace) -> int:
    start, end = parse_rfc3339(args.start, flag="--from"), parse_rfc3339(args.end, flag="--to")
    if end <= start:
        raise ArgumentInvalid(f"--to: {args.end} is not after --from {args.start}")
    policies, errors = load_paths(args.paths)
    for error in errors:
        print(f"reclaimer: {error}", file=sys.stderr)
    edges = edges_in_zones(policies, start=start, end=end)
    if not emit([schedule_item(edge, zone) for edge, zone in edges], args.output, sys.stdout):
        print_table([_schedule_row(edge, zone) for edge, zone in edges],
                    ("policy", "local", "utc", "action"), sys.stdout)
        if not edges:
            print(f"(no edge between {start.isoformat()} and {end.isoformat()}"
                  f"{'' if policies else ': no valid policy given'})")
    return EXIT_INVALID if errors else EXIT_OK


def edges_in_zones(policies: Sequence[Policy], *, start: datetime,
                   end: datetime) -> list[tuple[Edge, ZoneInfo]]:
    """Every edge of every policy, ordered by instant then policy, with its policy's zone."""
    edges = [(edge, ZoneInfo(policy.time_zone or "UTC")) for policy in policies
             for edge in edges_between(policy, start, end)]
    return sorted(edges, key=lambda pair: (pair[0].at, pair[0].policy))


def schedule_item(edge: Edge, zone: ZoneInfo) -> dict[str, str]:
    """docs/design.md §8: ``at`` is RFC 3339 with the offset of the policy's zone then."""
    return {"policy": edge.policy, "at": edge.at.astimezone(zone).isoformat(),
            "action": edge.action.value}


def error_item(error: PolicyInvalid) -> dict[str, Any]:
    return {"file": error.source, "document": error.document, "field": error.field,
            "message": error.message}


def parse_rfc3339(text: str, *, flag: str) -> datetime:
    """An instant with an explicit offset (``Z`` or ``+01:00``); naive times are refused
    because a schedule question is meaningless without knowing whose midnight it is."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ArgumentInvalid(f"{flag}: {text!r} is not RFC 3339 "
                              f"(e.g. {RFC3339_EXAMPLE})") from exc
    if instant.tzinfo is None:
        raise ArgumentInvalid(f"{flag}: {text!r} needs a UTC offset (Z or e.g. +02:00)")
    return instant.astimezone(UTC)


def _validate_row(result: DocumentResult) -> dict[str, Any]:
    error, policy = result.error, result.policy
    return {"file": result.source, "document": result.document,
            "policy": policy.key if policy else None, "valid": "no" if error else "yes",
            "message": f"{error.field}: {error.message}" if error else None}


def _schedule_row(edge: Edge, zone: ZoneInfo) -> dict[str, str]:
    local = edge.at.astimezone(zone)
    return {"policy": edge.policy,
            "local": f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} ({zone.key})",
            "utc": f"{edge.at:%Y-%m-%dT%H:%MZ}", "action": edge.action.value}
