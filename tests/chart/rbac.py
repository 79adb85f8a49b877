"""RBAC rules of a render as comparable values, so tests (and a later coverage test
driven by the sandbox's request log) can ask what the chart grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.chart.helm import Rendered


@dataclass(frozen=True, order=True)
class Grant:
    """One verb on one resource, the unit an API request needs."""

    scope: str  # "cluster" or the namespace of a Role
    group: str
    resource: str
    verb: str
    name: str = ""  # resourceNames entry, "" = any


def grants(rendered: Rendered) -> set[Grant]:
    found: set[Grant] = set()
    for role in rendered.of_kind("ClusterRole"):
        found |= set(_expand("cluster", role["rules"]))
    for role in rendered.of_kind("Role"):
        found |= set(_expand(role["metadata"]["namespace"], role["rules"]))
    return found


def _expand(scope: str, rules: Iterable[Mapping[str, Any]]) -> Iterable[Grant]:
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [""]:
                        yield Grant(scope, group, resource, verb, name)


def covers(granted: set[Grant], *, scope: str, group: str, resource: str, verb: str,
           name: str) -> bool:
    """Would an API request be allowed? (cluster grants apply in every namespace)."""
    need = Need(scope, group, resource, verb, name)
    return any(allows(g, need) for g in granted)


@dataclass(frozen=True, order=True)
class Need:
    """What one API request needs, from the sandbox's request log."""

    scope: str  # "cluster" for a request across all namespaces
    group: str
    resource: str  # plural, or plural/subresource
    verb: str
    name: str  # "" for collection requests (list, watch, create)


def need_of(record: Any) -> Need:
    """Map a sandbox ``RequestRecord`` (verb, group, resource, subresource, namespace,
    name) to the RBAC it needs."""
    resource = record.resource + (f"/{record.subresource}" if record.subresource else "")
    return Need(record.namespace or "cluster", record.group, resource, record.verb,
                record.name or "")


def allows(grant: Grant, need: Need) -> bool:
    """RBAC's rule: a ClusterRole grant applies everywhere, a Role grant in its namespace;
    resourceNames never match collection requests."""
    return (grant.group == need.group and grant.resource == need.resource
            and grant.verb == need.verb and grant.scope in {"cluster", need.scope}
            and grant.name in {"", need.name})


def uncovered(granted: set[Grant], needs: Iterable[Need]) -> list[Need]:
    return sorted({n for n in needs if not any(allows(g, n) for g in granted)})


def unused(granted: set[Grant], needs: Iterable[Need]) -> set[Grant]:
    wanted = set(needs)
    return {g for g in granted if not any(allows(g, n) for n in wanted)}
