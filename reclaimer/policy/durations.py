"""Durations as people write them in policies: ``30m``, ``1h30m``, ``90s``, ``2d``.

The grammar is Go's ``time.ParseDuration`` restricted to what a reclaim policy needs:
whole numbers with the units ``d`` (24 h), ``h``, ``m``, ``s``, largest first, each at
most once. Days are accepted because "idle for 2d" is a natural policy; fractions
(``1.5h``) and sub-second units are not, so every duration is a whole number of seconds
and `format_duration` prints a canonical spelling that parses back to it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from reclaimer.errors import InvalidInput

EXAMPLES = "e.g. 30m, 1h30m"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``/``1h30m``/``90s``/``2d``.

    Raises InvalidInput whose message quotes the text; callers add the field or flag.
    """
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise InvalidInput(f"{_quoted(text)} is not a duration ({EXAMPLES})")
    seconds = sum(int(value) * factor for value, factor in
                  zip(match.groups(), _UNITS.values(), strict=True) if value)
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
