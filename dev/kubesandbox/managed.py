"""``metadata.managedFields``: which field manager last set which field (Update only).

As the real API server's field manager records plain create/update/patch requests
(k8s.io/apiserver pkg/endpoints/handlers/fieldmanager; "Field management" in the
Kubernetes server-side apply documentation):

- the manager is the ``fieldManager`` query parameter, else the User-Agent up to its
  first ``/`` (kubectl's ``kubectl-annotate``, the Python client's ``OpenAPI-Generator``);
  longer than 128 characters is a 400;
- one entry per (manager, apiVersion, subresource) with ``operation: Update``,
  ``fieldsType: FieldsV1``, ``time`` (the store clock) and ``fieldsV1``; a create gives
  the manager every field it sent, an update the fields it changed;
- a changed field moves from every other entry to the writer; a removed field leaves
  every entry; an entry left owning nothing is dropped; an unchanged entry keeps its time.

Simplified: maps are tracked key by key, lists and scalars as whole values (no
``k:``/``v:`` list keys, no ``.`` markers). Writes from inside the process (the
simulator, scenario seeding) pass no manager: they keep and prune entries, add none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubesandbox.apierror import ApiError

Obj = dict[str, Any]
Path = tuple[str, ...]
MAX_MANAGER = 128
# Server-written metadata never appears in a manager's set.
_SERVER_META = frozenset({"uid", "resourceVersion", "creationTimestamp", "generation",
                          "managedFields", "name", "namespace", "selfLink",
                          "deletionTimestamp", "deletionGracePeriodSeconds"})
_NOT_CONTENT = frozenset({"apiVersion", "kind"})
_MISSING = object()


def manager_of(query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The request's field manager (headers keyed in lower case)."""
    manager = query.get("fieldManager") or headers.get("user-agent", "").split("/", 1)[0]
    if len(manager) > MAX_MANAGER:
        raise ApiError(422, f"fieldManager: Too long: may not be longer than {MAX_MANAGER}")
    return manager or "unknown"


def track(old: Obj | None, new: Obj, *, manager: str | None, api_version: str,
          subresource: str | None, now: datetime) -> None:
    """Set ``new``'s managedFields from ``old``'s and what this write changed."""
    entries = [dict(e) for e in (old or {}).get("metadata", {}).get("managedFields") or []]
    new["metadata"].pop("managedFields", None)
    if manager is None and not entries:
        return
    status_only = subresource == "status"
    before = _leaves(old, status_only=status_only) if old is not None else {}
    after = _leaves(new, status_only=status_only)
    changed = {p for p, v in after.items() if before.get(p, _MISSING) != v}
    removed = set(before) - set(after)
    mine = (manager, api_version, subresource or "")
    kept = [e for e in (_moved(e, changed, removed, mine) for e in entries) if e is not None]
    if manager is not None and changed:
        kept = _own(kept, mine, changed, now)
    if kept:
        new["metadata"]["managedFields"] = kept



def _key(entry: Obj) -> tuple[str | None, str, str]:
    return (entry.get("manager"), str(entry.get("apiVersion", "")),
            str(entry.get("subresource", "")))


def _moved(entry: Obj, changed: set[Path], removed: set[Path],
           mine: tuple[str | None, str, str]) -> Obj | None:
    """``entry`` without the fields this write took or removed; None once empty."""
    paths = to_paths(entry.get("fieldsV1") or {})
    left = paths - removed if _key(entry) == mine else paths - changed - removed
    if left == paths:
        return entry
    return {**entry, "fieldsV1": to_fields(left)} if left else None


def _own(entries: list[Obj], mine: tuple[str | None, str, str], changed: set[Path],
         now: datetime) -> list[Obj]:
    manager, api_version, subresource = mine
    current = next((e for e in entries if _key(e) == mine), None)
    paths = to_paths(current.get("fieldsV1") or {}) if current else set()
    entry: Obj = {"manager": manager, "operation": "Update", "apiVersion": api_version,
                  "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "fieldsType": "FieldsV1", "fieldsV1": to_fields(paths | changed)}
    if subresource:
        entry["subresource"] = subresource
    if current is None:
        return [*entries, entry]
    return [entry if e is current else e for e in entries]


def _leaves(obj: Obj | None, *, status_only: bool) -> dict[Path, Any]:
    out: dict[Path, Any] = {}
    for key, value in (obj or {}).items():
        if key in _NOT_CONTENT or (key == "status") != status_only:
            continue
        if key == "metadata" and isinstance(value, dict):
            _walk({k: v for k, v in value.items() if k not in _SERVER_META}, ("f:metadata",),
                  out)
        else:
            _walk(value, (f"f:{key}",), out)
    return out


def _walk(value: Any, path: Path, out: dict[Path, Any]) -> None:
    if not isinstance(value, dict):
        out[path] = value
        return
    for key, item in value.items():
        _walk(item, (*path, f"f:{key}"), out)


def to_paths(fields: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    """The leaf paths of a FieldsV1 tree (``.`` markers are ignored)."""
    out: set[Path] = set()
    for key, sub in fields.items():
        if key == ".":
            continue
        children = to_paths(sub, (*prefix, key)) if isinstance(sub, Mapping) and sub else set()
        out |= children or {(*prefix, key)}
    return out


def to_fields(paths: set[Path]) -> Obj:
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(key, {})
    return tree
