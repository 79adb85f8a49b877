"""Discovery documents (legacy, non-aggregated), enough for kubectl and DynamicClient.

kubectl asks for aggregated discovery first and falls back to these documents when the
answer is plain ``application/json``.
"""

from __future__ import annotations

from typing import Any

from kubesandbox.types import ALL_VERBS, Registry, ResourceType

Obj = dict[str, Any]
VERSION: Obj = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-sandbox",
                "gitCommit": "sandbox", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
                "compiler": "gc", "platform": "linux/amd64"}
SUB_VERBS = ("get", "patch", "update")


def api_versions(address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": address}]}


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries,
            "preferredVersion": entries[0]}


def group_list(registry: Registry) -> Obj:
    groups = [_group(g, vs) for g, vs in sorted(registry.group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    return _group(name, versions) if versions and name else None


def _entries(rtype: ResourceType) -> list[Obj]:
    main: Obj = {"name": rtype.plural, "singularName": rtype.singular,
                 "namespaced": rtype.namespaced, "kind": rtype.kind, "verbs": list(ALL_VERBS)}
    if rtype.short_names:
        main["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        main["categories"] = list(rtype.categories)
    out = [main]
    if rtype.has_status:
        out.append({"name": f"{rtype.plural}/status", "singularName": "",
                    "namespaced": rtype.namespaced, "kind": rtype.kind,
                    "verbs": list(SUB_VERBS)})
    if "scale" in rtype.subresources:
        out.append({"name": f"{rtype.plural}/scale", "singularName": "",
                    "namespaced": rtype.namespaced, "group": "autoscaling",
                    "version": "v1", "kind": "Scale", "verbs": list(SUB_VERBS)})
    return out


def resource_list(registry: Registry, group_name: str, version: str) -> Obj | None:
    types = sorted(registry.in_group_version(group_name, version), key=lambda t: t.plural)
    if not types:
        return None
    gv = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [e for t in types for e in _entries(t)]}


def document(registry: Registry, path: str, address: str) -> Obj | None:
    """The discovery document served at ``path``, or None."""
    parts = [p for p in path.split("/") if p]
    if path == "/version":
        return VERSION
    if parts == ["api"]:
        return api_versions(address)
    if parts == ["apis"]:
        return group_list(registry)
    if len(parts) == 2:
        return (resource_list(registry, "", parts[1]) if parts[0] == "api"
                else group(registry, parts[1]) if parts[0] == "apis" else None)
    if len(parts) == 3 and parts[0] == "apis":
        return resource_list(registry, parts[1], parts[2])
    return None
