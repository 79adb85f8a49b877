"""Durations as people write them in policies: ``30m``, ``1h30m``, ``90s``, ``2d``.

The grammar is Go's ``time.ParseDuration`` restricted to what a reclaim policy needs:
whole numbers with the units ``d`` (24 h), ``h``, ``m``, ``s``, largest first, each at
most once. Days are accepted because "idle for 2d" is a natural policy; fractions
(``1.5h``) and sub-second units are not, so every duration is a whole number of seconds
and `format_duration` prints a canonical spelling that parses back to it. A duration is
at most `MAX_DURATION` (366 days).
"""

from __future__ import annotations

import re
from datetime import timedelta

from reclaimer.errors import InvalidInput

EXAMPLES = "e.g. 30m, 1h30m"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
# Nothing a policy or a setting means is longer than a year, and an unbounded one
# overflows datetime arithmetic (``now + after``) inside every tick (issue 13 case 6).
MAX_DURATION = timedelta(days=366)
# The CRD's pattern: the same grammar with as many digits per unit as 366 days needs
# (366d, 8784h, 527040m, 31622400s), so the API server never stores an overflowing
# value; the exact bound is checked by `parse_duration` (``Valid=False``, one line).
CRD_PATTERN = r"^([0-9]{1,3}d)?([0-9]{1,4}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$"


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``/``1h30m``/``90s``/``2d``.

    Raises InvalidInput whose message quotes the text; callers add the field or flag.
    """
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise InvalidInput(f"{_quoted(text)} is not a duration ({EXAMPLES})")
    seconds = sum(int(value) * factor for value, factor in
                  zip(match.groups(), _UNITS.values(), strict=True) if value)
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(f"{_quoted(text)} is longer than the maximum "
                           f"{format_duration(MAX_DURATION)} (366 days)")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The canonical spelling that `parse_duration` reads back (``0s`` for zero)."""
    remaining = int(value.total_seconds())
    parts = []
    for unit, factor in _UNITS.items():
        count, remaining = divmod(remaining, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _quoted(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
