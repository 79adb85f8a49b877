"""Shared output formats: ``-o table`` (default), ``wide``, ``json`` and ``yaml``.

JSON and YAML carry the same items (times RFC 3339); ``wide`` is the table with the
extra columns a command has (the same as ``table`` where it has none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

FORMATS = ("table", "wide", "json", "yaml")
STRUCTURED = ("json", "yaml")


def add_output_flag(parser: Any, *, choices: Sequence[str] = FORMATS) -> None:
    parser.add_argument("-o", "--output", choices=list(choices), default=choices[0],
                        help="table (default), wide, json or yaml")


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def print_json(data: object, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, default=_default, sort_keys=False) + "\n")


def print_yaml(data: object, out: TextIO) -> None:
    """The JSON document as YAML (so both carry exactly the same values)."""
    import yaml  # noqa: PLC0415 - only for -o yaml

    plain = json.loads(json.dumps(data, default=_default))
    out.write(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True))


def emit(data: object, output: str, out: TextIO) -> bool:
    """Print ``data`` for ``-o json|yaml``; False when the caller prints a table."""
    if output == "json":
        print_json(data, out)
    elif output == "yaml":
        print_yaml(data, out)
    else:
        return False
    return True


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Plain aligned columns, like kubectl: upper-case headers, ``<none>`` for empty."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    headers = [col.upper() for col in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    for line in [headers, *cells]:
        out.write("   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n")


def duration_text(value: timedelta | float) -> str:
    """``5m``, ``1h30m``, ``2d3h``, ``45s``: the policy grammar, not ``0:05:00``."""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts[:2])


def _cell(value: object) -> str:
    if value is None or value == "":
        return "<none>"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)
