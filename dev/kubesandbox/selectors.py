"""Label and field selectors, parsed once per request into predicates.

Grammar follows k8s.io/apimachinery/pkg/labels: equality (``=``, ``==``, ``!=``) and
set-based (``in``, ``notin``, ``key``, ``!key``) requirements joined by commas.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesandbox.apierror import ApiError

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
# A field value may hold anything but an unescaped ",", "=" or "!" (apimachinery
# ``fields.EscapeValue``): ``involvedObject.apiVersion=serving.kserve.io/v1beta1``.
_FIELD_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*((?:[^\\,=!]|\\.)*?)\s*$")
_UNESCAPE = re.compile(r"\\(.)")


def _field_term(term: str) -> tuple[str, str, str] | None:
    found = _FIELD_RE.match(term)
    if not found:
        return None
    path, op, value = found.groups()
    return path, op, _UNESCAPE.sub(r"\1", value)

# Field selectors the real server accepts beyond metadata.name/namespace, by plural.
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "status.phase", "status.podIP",
                       "status.nominatedNodeName"}),
    "events": frozenset({"involvedObject.kind", "involvedObject.namespace",
                         "involvedObject.name", "involvedObject.uid",
                         "involvedObject.apiVersion", "involvedObject.resourceVersion",
                         "involvedObject.fieldPath", "reason", "reportingComponent",
                         "source", "type", "regarding.kind", "regarding.name",
                         "regarding.namespace", "regarding.uid"}),
    "secrets": frozenset({"type"}),
    "namespaces": frozenset({"status.phase"}),
}


def _split(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` value lists."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0 and text[i - 1:i] != "\\":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _label_requirement(term: str) -> Predicate:
    eq = _EQ_RE.match(term)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    found = _SET_RE.match(term)
    if not found:
        raise ApiError(400, f"unable to parse requirement: invalid label selector: {term!r}")
    bang, key, op, values = found.groups()
    if op is None:
        return (lambda labels: key not in labels) if bang else (lambda labels: key in labels)
    if bang:
        raise ApiError(400, f"unable to parse requirement: invalid label selector: {term!r}")
    allowed = {v.strip() for v in values.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in allowed
    return lambda labels: labels.get(key) not in allowed


def label_selector(text: str | None) -> Predicate | None:
    """A predicate over a whole object, or None when the selector selects everything."""
    if not text or not text.strip():
        return None
    reqs = [_label_requirement(term) for term in _split(text)]

    def match(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req(labels) for req in reqs)
    return match


def _dig(obj: Obj, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def field_selector(text: str | None, plural: str) -> Predicate | None:
    """Only the fields the real server indexes; others are a 400, as there."""
    if not text or not text.strip():
        return None
    allowed = {"metadata.name", "metadata.namespace"} | EXTRA_FIELDS.get(plural, frozenset())
    reqs: list[tuple[str, bool, str]] = []
    for term in _split(text):
        eq = _field_term(term)
        if not eq:
            raise ApiError(400, f"invalid field selector: {term!r}")
        path, op, value = eq
        if path not in allowed:
            raise ApiError(400, f'"{path}" is not a known field selector: only "'
                           + '", "'.join(sorted(allowed)) + '"')
        reqs.append((path, op != "!=", value))
    return lambda obj: all((_dig(obj, p) == v) == want for p, want, v in reqs)


def combine(*predicates: Predicate | None) -> Predicate | None:
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    return lambda obj: all(p(obj) for p in active)


def single_name(text: str | None) -> str | None:
    """The name a ``metadata.name=X`` selector pins, for an O(1) lookup."""
    if not text:
        return None
    for term in _split(text):
        eq = _field_term(term)
        if eq and eq[0] == "metadata.name" and eq[1] != "!=":
            return eq[2]
    return None
