"""URL -> (resource type, namespace, name, subresource) and the RBAC verb of a request."""

from __future__ import annotations

from dataclasses import dataclass

from kubesandbox.apierror import ApiError
from kubesandbox.types import Registry, ResourceType


@dataclass(frozen=True)
class Route:
    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def _namespaced(registry: Registry, group: str, version: str, plural: str) -> bool:
    try:
        return registry.get(group, version, plural).namespaced
    except ApiError:
        return False


def parse(registry: Registry, path: str) -> Route | None:
    """None for a path that is not a resource path (discovery and the like)."""
    parts = [p for p in path.split("/") if p]
    found = _group_version(parts)
    if found is None or not found[2]:
        return None
    group, version, rest = found
    namespace = None
    if (rest[0] == "namespaces" and len(rest) >= 3
            and _namespaced(registry, group, version, rest[2])):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise ApiError(404, "the server could not find the requested resource")
    rtype = registry.get(group, version, rest[0])
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in rtype.subresources:
        raise ApiError(404, "the server could not find the requested resource")
    if rtype.namespaced and name is not None and namespace is None:
        raise ApiError(404, "the server could not find the requested resource")
    return Route(rtype, namespace, name, sub)


def verb_of(method: str, route: Route, *, watch: bool) -> str:
    if method == "GET":
        if watch:
            return "watch"
        return "get" if route.name else "list"
    if method == "DELETE":
        return "delete" if route.name else "deletecollection"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if method not in verbs:
        raise ApiError(405, f"the server does not allow this method on the requested "
                       f"resource: {method}")
    return verbs[method]
