"""Parsing the ledger commands' arguments; every refusal names the argument."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reclaimer.cli import refs
from reclaimer.config import parse_duration_value
from reclaimer.errors import ArgumentInvalid, ConfigInvalid
from reclaimer.ledger.engine import DEFAULT_URL, ENV_VAR
from reclaimer.model import ServiceRef


def add_db_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help=f"ledger database (default: ${ENV_VAR}, else {DEFAULT_URL})")


def database_url(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get(ENV_VAR) or DEFAULT_URL)


def parse_ref(text: str) -> ServiceRef:
    """``NS/NAME`` or ``KIND/NS/NAME`` (`refs.parse_ref`)."""
    return refs.parse_ref(text)


def parse_instant(flag: str, text: str, *, now: datetime, ahead: bool) -> datetime:
    """RFC 3339 with an offset, or a duration from ``now`` (ahead for --until, back for
    --since): ``2h`` is the natural way to say "for two hours" at a terminal."""
    if text and text.strip()[0].isdigit() and not re.match(r"^\d{4}-", text.strip()):
        return now + _duration(flag, text) * (1 if ahead else -1)
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ArgumentInvalid(f"{flag}: {text!r} is neither RFC 3339 "
                              "(2026-03-02T19:00:00+01:00) nor a duration (2h, 1d)") from exc
    if instant.tzinfo is None:
        raise ArgumentInvalid(f"{flag}: {text!r} needs a UTC offset (e.g. Z or +01:00)")
    return instant


def _duration(flag: str, text: str) -> timedelta:
    try:
        return parse_duration_value(flag, text)
    except ConfigInvalid as exc:
        raise ArgumentInvalid(f"{flag}: {exc.message}") from exc


def span(since: str | None, until: str | None, *, now: Callable[[], datetime]
         ) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as given (any instants, past or future); the clock is read
    only when one of them is a duration. Refused when the span is empty."""
    start = parse_instant("--since", since, now=now(), ahead=False) if since else None
    end = parse_instant("--until", until, now=now(), ahead=False) if until else None
    if start is not None and end is not None and end <= start:
        raise ArgumentInvalid(f"--until: {end.isoformat()} is not after --since "
                              f"{start.isoformat()}")
    return start, end


def report_span(since: str | None, until: str | None, *, now: Callable[[], datetime],
                default_span: timedelta) -> tuple[datetime, datetime]:
    """A report needs both ends: ``--until`` defaults to now, ``--since`` to
    ``default_span`` before ``--until``."""
    start, end = span(since, until, now=now)
    if end is None:
        end = now()
        if start is not None and start >= end:
            raise ArgumentInvalid(f"--since: {start.isoformat()} is not before now "
                                  f"({end.isoformat()}); give --until for a later span")
    return start or end - default_span, end


def zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ArgumentInvalid(f"--tz: {name!r} is not an IANA time zone "
                              "(e.g. Europe/Berlin, America/New_York)") from exc
