"""The JSONPath subset that printer columns use: ``.a.b``, ``.a[0]``, ``.a['x.y']`` and
filters ``[?(@.k=="v")]`` (also ``==true``), as in CRD additionalPrinterColumns."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_-]+)
      | \[(?P<index>\d+)\]
      | \[['"](?P<quoted>[^'"]+)['"]\]
      | \[\?\(@\.(?P<key>[A-Za-z0-9_.-]+)\s*==\s*(?P<value>'[^']*'|"[^"]*"|[^)\s]+)\)\]""",
    re.VERBOSE)


def _literal(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return text[1:-1]
    return {"true": True, "false": False}.get(text, text)


def _dig(node: Any, key: str) -> Any:
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def find(obj: Any, path: str) -> list[Any]:
    """Every value at ``path``; an unparseable path finds nothing, as kubectl prints ''."""
    nodes, pos = [obj], 0
    while pos < len(path) and nodes:
        m = _TOKEN.match(path, pos)
        if m is None:
            return []
        pos = m.end()
        nodes = [n for node in nodes for n in _step(node, m)]
    return [n for n in nodes if n is not None]


def _step(node: Any, m: re.Match[str]) -> list[Any]:
    if m.group("field") or m.group("quoted"):
        key = m.group("field") or m.group("quoted")
        return [node.get(key)] if isinstance(node, dict) else []
    if m.group("index"):
        i = int(m.group("index"))
        return [node[i]] if isinstance(node, list) and i < len(node) else []
    wanted = _literal(m.group("value"))
    items = node if isinstance(node, list) else []
    return [i for i in items if isinstance(i, dict) and _dig(i, m.group("key")) == wanted]
