"""Shared output formats for `-o table|json`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO


def add_output_flag(parser: Any, *, choices: Sequence[str] = ("table", "json")) -> None:
    parser.add_argument("-o", "--output", choices=list(choices), default=choices[0])


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def print_json(data: object, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, default=_default, sort_keys=False) + "\n")


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Plain aligned columns, like kubectl: upper-case headers, ``<none>`` for empty."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    headers = [col.upper() for col in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    for line in [headers, *cells]:
        out.write("   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n")


def _cell(value: object) -> str:
    if value is None or value == "":
        return "<none>"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
