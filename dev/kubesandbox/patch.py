"""The three patch formats the API server accepts.

- JSON merge patch, RFC 7386 (``application/merge-patch+json``);
- JSON patch, RFC 6902 (``application/json-patch+json``);
- strategic merge patch for the built-in kinds in use: maps merge, lists of objects
  merge by their patch-merge key (as declared in k8s.io/api's ``patchMergeKey`` tags),
  ``$patch: replace|delete`` and ``$deleteFromPrimitiveList`` directives, and
  ``$setElementOrder`` (accepted and ignored: the order of the patch wins).
"""

from __future__ import annotations

from typing import Any

from kubesandbox.apierror import ApiError
from kubesandbox.jsoncopy import deep_copy

# Field name -> patch-merge key, from the k8s.io/api struct tags of the kinds served.
MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "env": "name", "volumeMounts": "mountPath",
    "imagePullSecrets": "name", "conditions": "type", "ownerReferences": "uid",
    "hostAliases": "ip", "volumeDevices": "devicePath", "topologySpreadConstraints":
    "topologyKey", "readinessGates": "conditionType",
}
# Primitive lists declared patchStrategy=merge: union instead of replace.
MERGED_PRIMITIVES = frozenset({"finalizers"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    out = deep_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}: must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit():
        raise ApiError(422, f"invalid array index {token!r} in JSON patch path")
    idx = int(token)
    if idx > len(container) or (idx == len(container) and not adding):
        raise ApiError(422, f"array index {idx} out of bounds in JSON patch path")
    return idx


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, adding=False)]
        else:
            raise ApiError(422, f"JSON patch path {path!r} does not exist")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    raise ApiError(422, f"JSON patch path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], adding=True), value)
    else:
        raise ApiError(422, f"JSON patch path {path!r} does not exist")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    parent = _parent(doc, tokens, path)
    last = tokens[-1] if tokens else ""
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, adding=False)]
    else:
        raise ApiError(422, f"JSON patch remove: path {path!r} does not exist")
    return doc


def _operation(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op.get("op"), op.get("path")
    if not isinstance(path, str):
        raise ApiError(422, f"JSON patch operation {op!r} is missing 'path'")
    if kind == "add":
        return _add(doc, path, deep_copy(op.get("value")))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path)
        return _add(_remove(doc, path), path, deep_copy(op.get("value")))
    if kind in ("move", "copy"):
        value = deep_copy(_get(doc, str(op.get("from"))))
        if kind == "move":
            doc = _remove(doc, str(op.get("from")))
        return _add(doc, path, value)
    if kind == "test":
        if _get(doc, path) != op.get("value"):
            raise ApiError(422, f"JSON patch test failed at {path!r}")
        return doc
    raise ApiError(422, f"unknown JSON patch operation {kind!r}")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902, atomically: the target is untouched when any operation fails."""
    if not isinstance(operations, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    doc = deep_copy(target)
    for op in operations:
        if not isinstance(op, dict):
            raise ApiError(400, f"JSON patch operation {op!r} is not an object")
        doc = _operation(doc, op)
    return doc


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge for built-in kinds (see module docstring for what is covered)."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    if patch.get("$patch") == "replace":
        return {k: deep_copy(v) for k, v in patch.items() if k != "$patch"}
    out = deep_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            out[field] = [v for v in out.get(field) or [] if v not in value]
        elif value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(key, out.get(key), value)
        else:
            out[key] = strategic_merge(out.get(key), value)
    return out


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        probe = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in probe else "port"
    return MERGE_KEYS.get(field)


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current_list: list[Any] = current if isinstance(current, list) else []
    if field in MERGED_PRIMITIVES:
        return deep_copy(current_list) + [v for v in patch if v not in current_list]
    key = _merge_key(field, patch)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return deep_copy(patch)
    out = deep_copy(current_list)
    for item in patch:
        at = next((i for i, old in enumerate(out)
                   if isinstance(old, dict) and old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
        elif at is None:
            out.append({k: v for k, v in deep_copy(item).items() if k != "$patch"})
        else:
            out[at] = strategic_merge(out[at], item)
    return out
