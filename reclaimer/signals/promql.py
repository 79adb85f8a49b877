"""Building blocks for PromQL text: string literals, durations, label rewrites.

Queries are built from constants and operator config only; no value read from the
cluster (namespace, ISVC name) is ever spliced into PromQL. Where a string must appear
in a query it goes through `quote`, which follows the PromQL string-literal rules of
Prometheus v2.42.0 ``promql/parser/lex.go`` (Go escapes inside double quotes).
"""

from __future__ import annotations

from datetime import timedelta

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(value: str) -> str:
    """A double-quoted PromQL string literal that denotes exactly ``value``."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def matcher(label: str, op: str, value: str) -> str:
    """One label matcher, e.g. ``matcher("pod", "!=", "")`` -> ``pod!=""``."""
    if op not in {"=", "!=", "=~", "!~"}:
        raise ValueError(f"unknown matcher operator {op!r}")
    return f"{label}{op}{quote(value)}"


def duration(span: timedelta) -> str:
    """A PromQL duration; whole seconds when possible, else milliseconds."""
    millis = round(span.total_seconds() * 1000)
    if millis <= 0:
        raise ValueError(f"duration must be positive, got {span}")
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def copy_label(expr: str, *, target: str, source: str) -> str:
    """Set ``target`` to ``source``'s value where ``source`` is non-empty."""
    return f"label_replace({expr}, {quote(target)}, \"$1\", {quote(source)}, \"(.+)\")"


def set_label(expr: str, *, target: str, value: str) -> str:
    """Add a constant label (label_replace on the absent label "" matches every series)."""
    escaped = value.replace("$", "$$")
    return f"label_replace({expr}, {quote(target)}, {quote(escaped)}, \"\", \"\")"


def extract_label(expr: str, *, target: str, source: str, pattern: str) -> str:
    """Set ``target`` to the first group of ``pattern`` matched against ``source``."""
    return f"label_replace({expr}, {quote(target)}, \"$1\", {quote(source)}, {quote(pattern)})"
