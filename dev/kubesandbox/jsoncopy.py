"""Deep copy for JSON-shaped values; several times faster than ``copy.deepcopy``."""

from __future__ import annotations

from typing import Any, TypeVar, cast

T = TypeVar("T")


def deep_copy(value: T) -> T:
    return cast(T, _copy(value))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
