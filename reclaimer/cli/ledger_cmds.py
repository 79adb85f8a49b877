"""`history`, `hold`, `release`, `report`, `db upgrade|downgrade`: the ledger from a terminal.

Each command reads the clock once (through `clock_from_env`, so the documented test
hook works) and opens the ledger only after its arguments are valid, so a refused
command writes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reclaimer.cli import ledger_args, refs, report_png
from reclaimer.cli.hold_check import check_exists
from reclaimer.cli.output import add_output_flag, emit, print_table
from reclaimer.cli.remote_flags import add_server_flags
from reclaimer.clock import clock_from_env
from reclaimer.errors import ArgumentInvalid
from reclaimer.ledger import Report, TransitionRecord, open_ledger
from reclaimer.ledger.engine import display, parse_url
from reclaimer.ledger.schema_check import downgrade, head_revision, upgrade
from reclaimer.model import ServiceRef, Trigger

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
HISTORY_COLUMNS = ("id", "at", "namespace", "name", "action", "trigger", "reason", "state",
                   "policy", "actor", "via", "gpus", "blocked", "error")
HISTORY_WIDE = (*HISTORY_COLUMNS, "kind", "strategy", "uid", "edgeKey")
REPORT_COLUMNS = ("key", "gpuHours", "stops", "stopsWithUnknownGpus")
HOLD_COLUMNS = ("namespace", "name", "until", "who", "reason")
DEFAULT_REPORT_SPAN = timedelta(days=30)


def register(subparsers: Subparsers) -> None:
    _register_history(subparsers)
    _register_holds(subparsers)
    _register_report(subparsers)
    db = subparsers.add_parser("db", help="the ledger database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_commands.add_parser("upgrade", help="migrate the ledger schema to this release")
    ledger_args.add_db_flag(up)
    up.set_defaults(handler=_db_upgrade)
    down = db_commands.add_parser(
        "downgrade", help="migrate the ledger schema back (before rolling back a release)")
    ledger_args.add_db_flag(down)
    down.add_argument("--to", required=True, metavar="REVISION",
                      help="the schema of the release to roll back to, e.g. 0003")
    down.set_defaults(handler=_db_downgrade)


def _now() -> datetime:
    return clock_from_env(os.environ).now()


def _register_history(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("history", help="recorded transitions, newest first")
    ledger_args.add_db_flag(parser)
    parser.add_argument("--namespace")
    parser.add_argument("--name")
    parser.add_argument("--since", help="RFC 3339, or a duration back from now (7d)")
    parser.add_argument("--until", help="RFC 3339, or a duration back from now (exclusive)")
    parser.add_argument("--trigger", choices=[t.value for t in Trigger])
    parser.add_argument("--kind", help="one KServe kind: isvc, llmisvc, ig (or kubectl's "
                                       "names for them)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tz", metavar="ZONE",
                        help="show every table time in this zone (default: each row in its "
                             "policy's zone, UTC without one; JSON is RFC 3339 in UTC)")
    add_output_flag(parser)
    parser.set_defaults(handler=_history)


def _history(args: argparse.Namespace) -> int:
    since, until = ledger_args.span(args.since, args.until, now=_now)
    kind = refs.parse_kind(args.kind) if args.kind else None
    ledger = open_ledger(ledger_args.database_url(args))
    try:
        records = ledger.history(namespace=args.namespace, name=args.name, since=since,
                                 until=until, limit=args.limit, kind=kind,
                                 trigger=Trigger(args.trigger) if args.trigger else None)
    finally:
        ledger.close()
    _print_records(records, args.output, zone=ledger_args.zone(args.tz))
    if not records and args.output in ("table", "wide"):
        print("(no transitions recorded" + _filters(args) + ")")
    return 0


def _filters(args: argparse.Namespace) -> str:
    given = [f"{flag} {value}" for flag, value in (
        ("--namespace", args.namespace), ("--name", args.name), ("--since", args.since),
        ("--until", args.until), ("--trigger", args.trigger), ("--kind", args.kind))
        if value]
    return " matching " + ", ".join(given) if given else ""


def _print_records(records: list[TransitionRecord], output: str, *,
                   zone: tzinfo | None) -> None:
    items = [record.as_json() for record in records]
    if not emit(items, output, sys.stdout):
        items = [{**item, "at": item["at"].astimezone(zone or _row_zone(item["evidence"]))}
                 for item in items]
        print_table(items, HISTORY_WIDE if output == "wide" else HISTORY_COLUMNS, sys.stdout)


def _row_zone(evidence: Mapping[str, object]) -> tzinfo:
    """The zone of the policy that decided the row (recorded as ``timeZone``), so each
    team reads its own clock; UTC for manual and external rows and zone-less policies."""
    name = evidence.get("timeZone")
    try:
        return ZoneInfo(name) if isinstance(name, str) else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _register_holds(subparsers: Subparsers) -> None:
    hold = subparsers.add_parser("hold", help="keep reclaimer's hands off one service")
    hold.add_argument("ref", metavar="[KIND/]NS/NAME")
    hold.add_argument("--until", required=True, help="RFC 3339, or a duration from now (2h)")
    hold.add_argument("--reason", required=True)
    hold.add_argument("--as", "--who", "--actor", dest="who", default=None,
                      help="who holds it (default: your user name)")
    hold.add_argument("--kubeconfig", default=None,
                      help="the cluster to check the service exists in (kubectl's lookup)")
    hold.add_argument("--no-check", action="store_true",
                      help="hold it without asking the cluster whether it exists")
    ledger_args.add_db_flag(hold)
    add_server_flags(hold)
    hold.set_defaults(handler=_hold)
    release = subparsers.add_parser("release", help="end a hold")
    release.add_argument("ref", metavar="[KIND/]NS/NAME")
    ledger_args.add_db_flag(release)
    release.set_defaults(handler=_release)
    holds = subparsers.add_parser("holds", help="list the holds in force")
    ledger_args.add_db_flag(holds)
    add_output_flag(holds)
    holds.set_defaults(handler=_holds)


def _holds(args: argparse.Namespace) -> int:
    now = _now()
    ledger = open_ledger(ledger_args.database_url(args))
    try:
        held = sorted(ledger.view(now).holds.values(), key=lambda h: str(h.ref))
    finally:
        ledger.close()
    items = [{"namespace": h.ref.namespace, "name": h.ref.name, "until": h.until,
              "who": h.who, "reason": h.reason} for h in held]
    if not emit(items, args.output, sys.stdout):
        print_table(items, HOLD_COLUMNS, sys.stdout)
        if not items:
            print(f"(no holds in force at {now.isoformat(timespec='seconds')})")
    return 0


def _hold(args: argparse.Namespace) -> int:
    ref = ledger_args.parse_ref(args.ref)
    now = _now()
    until = ledger_args.parse_instant("--until", args.until, now=now, ahead=True)
    if args.server:
        return _hold_remote(args, ref, until=until)
    note = "" if args.no_check else check_exists(ref, kubeconfig=args.kubeconfig)
    ledger = open_ledger(ledger_args.database_url(args))
    try:
        hold = ledger.hold(ref, until=until, reason=args.reason,
                           who=args.who or _user(), now=now)
    finally:
        ledger.close()
    print(f"{hold.ref} held until {hold.until.isoformat(timespec='seconds')} by {hold.who}: "
          f"{hold.reason}{note}")
    return 0


def _hold_remote(args: argparse.Namespace, ref: ServiceRef, *, until: datetime) -> int:
    """A snooze through the owners' API: your token names you, the policy bounds it."""
    from reclaimer.cli import remote  # noqa: PLC0415 - keeps --help fast

    if args.who:
        raise ArgumentInvalid("--as: with --server the service names you from your token")
    token = remote.bearer_token(token=args.token, kubeconfig=args.kubeconfig)
    print(remote.snooze(args.server, ref, until=until, reason=args.reason, token=token))
    return 0


def _user() -> str:
    """The login name; containers often have a uid without a passwd entry."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


def _release(args: argparse.Namespace) -> int:
    ref = ledger_args.parse_ref(args.ref)
    ledger = open_ledger(ledger_args.database_url(args))
    try:
        released = ledger.release(ref)
    finally:
        ledger.close()
    print(f"{ref} released" if released else f"{ref} was not held")
    return 0


def _register_report(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("report", help="GPU-hours reclaimed")
    ledger_args.add_db_flag(parser)
    parser.add_argument("--since", help="RFC 3339, or a duration back from now (default 30d "
                                        "before --until)")
    parser.add_argument("--until", help="RFC 3339, or a duration back from now (default now)")
    parser.add_argument("--png", metavar="FILE", help="also draw a timeline (extra `plot`)")
    parser.add_argument("--tz", metavar="ZONE",
                        help="the zone of the span printed (default: UTC) and of the "
                             "picture (default: this machine's)")
    add_output_flag(parser)
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    since, now = ledger_args.report_span(args.since, args.until, now=_now,
                                         default_span=DEFAULT_REPORT_SPAN)
    if args.png:
        report_png.require_png(args.png)
    ledger = open_ledger(ledger_args.database_url(args))
    try:
        report = ledger.report(since=since, now=now)
    finally:
        ledger.close()
    if args.png:
        report_png.draw(report, args.png, zone=ledger_args.zone(args.tz))
    _print_report(report, args.output, zone=ledger_args.zone(args.tz) or UTC)
    return 0


def _print_report(report: Report, output: str, *, zone: tzinfo) -> None:
    if emit(report_json(report), output, sys.stdout):
        return
    since, until = (at.astimezone(zone).isoformat(timespec="seconds")
                    for at in (report.since, report.now))
    print(f"GPU-hours reclaimed {since} .. {until}: {report.total_gpu_hours:.2f}")
    if not report.intervals:
        print("(no stop in force during this span; history --since/--until shows the rows)")
    for title, rows in (("namespace", report.by_namespace), ("policy", report.by_policy)):
        print(f"\nBY {title.upper()}")
        print_table([row.as_json() for row in rows], REPORT_COLUMNS, sys.stdout)


def report_json(report: Report) -> dict[str, object]:
    return {
        "since": report.since, "now": report.now,
        "totalGpuHours": round(report.total_gpu_hours, 3),
        "byNamespace": [row.as_json() for row in report.by_namespace],
        "byPolicy": [row.as_json() for row in report.by_policy],
        "intervals": [{"namespace": i.ref.namespace, "name": i.ref.name, "policy": i.policy,
                       "start": i.start, "end": i.end, "gpus": i.gpus,
                       "gpuHours": round(i.gpu_hours, 3)} for i in report.intervals],
    }


def _db_upgrade(args: argparse.Namespace) -> int:
    url = parse_url(ledger_args.database_url(args))
    upgrade(url)
    print(f"{display(url)}: schema at {head_revision()}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    """What the later revisions added is dropped (docs/ledger.md, "Upgrades")."""
    url = parse_url(ledger_args.database_url(args))
    downgrade(url, args.to)
    print(f"{display(url)}: schema at {args.to}")
    return 0
