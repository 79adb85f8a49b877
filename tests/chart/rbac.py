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
    return any(
        g.group == group and g.resource == resource and g.verb == verb
        and g.scope in {"cluster", scope} and g.name in {"", name}
        for g in granted
    )
