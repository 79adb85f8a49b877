"""Checks for string formats in a ReclaimPolicy: names, labels, zones, crons, dates.

Each check returns None when the value is fine, else the message that follows the field
path in an error (``spec.timeZone: "Europe/Berln" is not an IANA time zone ...``).
Kubernetes name and label rules follow apimachinery's validation (DNS-1123 label and
subdomain, qualified names); cron rules are croniter's, restricted to the five standard
fields and to values that are the same on every replica.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from reclaimer.errors import InvalidInput
from reclaimer.policy.durations import parse_duration

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# croniter's "R" (random) and "H" (hashed) would give each replica different edges.
_NONDETERMINISTIC = re.compile(r"(^|[,/])[RrHh](\(|$|[,/])")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

Check = Callable[[object], "str | None"]


def dns_label(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= 63 and _LABEL.fullmatch(value):
        return None
    return (f"{_q(value)} is not a valid name: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters")


def dns_subdomain(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= 253 and _SUBDOMAIN.fullmatch(value):
        return None
    return (f"{_q(value)} is not a valid name: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters")


def label_key(value: object) -> str | None:
    text = value if isinstance(value, str) else ""
    prefix, _, name = text.rpartition("/")
    if (len(name) <= 63 and _QUALIFIED.fullmatch(name)
            and (not prefix or (len(prefix) <= 253 and _SUBDOMAIN.fullmatch(prefix)))):
        return None
    return (f"{_q(value)} is not a valid label key: [prefix/]name, the name at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit")


def label_value(value: object) -> str | None:
    if isinstance(value, str) and (value == "" or (len(value) <= 63
                                                   and _QUALIFIED.fullmatch(value))):
        return None
    return (f"{_q(value)} is not a valid label value: at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit")


def time_zone(value: object) -> str | None:
    try:
        if isinstance(value, str) and value not in _NOT_ZONES and not value.startswith("/"):
            ZoneInfo(value)
            return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return f"{_q(value)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)"


def cron(value: object) -> str | None:
    """Five standard fields that croniter accepts and that match at least once."""
    text = value if isinstance(value, str) else ""
    if len(text.split()) != 5:
        return (f"{_q(value)} is not a cron expression with five fields "
                "(minute hour day-of-month month day-of-week, e.g. \"0 8 * * mon-fri\")")
    if any(_NONDETERMINISTIC.search(part) for part in text.split()):
        return f"{_q(value)}: random (R) and hashed (H) values are not allowed"
    if not croniter.is_valid(text):
        return f"{_q(value)} is not a valid cron expression (e.g. \"0 8 * * mon-fri\")"
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)  # a leap year
    except CroniterBadDateError:
        return f"{_q(value)} never fires (no such date)"
    return None


def iso_date(value: object) -> str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return None  # unquoted in YAML: already a date
    try:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return f"{_q(value)} is not a date (YYYY-MM-DD, e.g. \"2026-12-24\")"


def duration(value: object) -> str | None:
    try:
        parse_duration(value)  # type: ignore[arg-type]
    except InvalidInput as exc:
        return str(exc)
    return None


FORMATS: dict[str, Check] = {
    "dns-label": dns_label, "dns-subdomain": dns_subdomain, "label-key": label_key,
    "label-value": label_value, "time-zone": time_zone, "cron": cron, "date": iso_date,
    "duration": duration,
}


def _q(value: object) -> str:
    return f'"{value}"' if isinstance(value, str | date) else repr(value)
