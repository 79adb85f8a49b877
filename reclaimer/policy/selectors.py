"""Kubernetes LabelSelector and the files-only namespace selector, from checked data.

The shape (types, label syntax, operators) is already checked by `fields.check`; what
is left are the operator rules of apimachinery's ``LabelSelectorRequirement``: In and
NotIn need at least one value, Exists and DoesNotExist take none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from reclaimer.model import (
    DEFAULT_KINDS,
    LabelRequirement,
    LabelSelector,
    NamespaceSelector,
    ServiceKind,
)
from reclaimer.policy.fields import FieldError, child

_NEEDS_VALUES = frozenset({"In", "NotIn"})
OBSERVED_KINDS = frozenset(ServiceKind)
"""Kinds the inventory lists (all the CRD names, since issue 15). A kind the CRD may
name in future but the inventory does not list is refused rather than accepted and
silently matching nothing."""


class FrozenLabels(Mapping[str, str]):
    """An immutable, hashable label map, so a Policy can be hashed and shared safely."""

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


def parse_selector(raw: Mapping[str, Any], path: str) -> LabelSelector:
    expressions = raw.get("matchExpressions", [])
    at = child(path, "matchExpressions")
    return LabelSelector(
        match_labels=FrozenLabels(raw.get("matchLabels", {})),
        match_expressions=tuple(_requirement(item, child(at, index))
                                for index, item in enumerate(expressions)),
    )


def parse_kinds(raw: Mapping[str, Any], path: str) -> frozenset[ServiceKind]:
    """``selector.kinds``: absent means InferenceService only, so a policy never starts
    governing a kind it was not written for. The values are already one of the enum."""
    if "kinds" not in raw:
        return DEFAULT_KINDS
    at, seen = child(path, "kinds"), set()
    for index, text in enumerate(raw["kinds"]):
        if text in seen:
            raise FieldError(child(at, index), f"{text} is listed twice")
        seen.add(text)
        if ServiceKind(text) not in OBSERVED_KINDS:
            raise FieldError(child(at, index), f"{text} is not observed by this reclaimer "
                             "version yet; only InferenceService can be governed")
    return frozenset(ServiceKind(text) for text in seen)


def parse_namespace_selector(raw: Mapping[str, Any]) -> NamespaceSelector:
    return NamespaceSelector(match_names=tuple(raw.get("matchNames", [])))


def _requirement(raw: Mapping[str, Any], path: str) -> LabelRequirement:
    operator, values = raw["operator"], tuple(raw.get("values", []))
    if operator in _NEEDS_VALUES and not values:
        raise FieldError(child(path, "values"), f"{operator} needs at least one value")
    if operator not in _NEEDS_VALUES and values:
        raise FieldError(child(path, "values"), f"{operator} takes no values; remove them")
    return LabelRequirement(key=raw["key"], operator=operator, values=values)
