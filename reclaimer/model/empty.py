"""The shared empty mapping: a hashable, immutable default for mapping fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn


class _EmptyMapping(Mapping[Any, Any]):
    """The shared empty default: immutable and hashable, so dataclasses accept it
    as a field default (Python 3.11 rejects unhashable defaults such as
    ``MappingProxyType({})`` as mutable)."""

    def __getitem__(self, key: Any) -> NoReturn:
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        """False at once (`Mapping`'s own asks `__getitem__` and catches its KeyError:
        five times per service and evaluation in `assemble`)."""
        return False

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


EMPTY: Mapping[Any, Any] = _EmptyMapping()
