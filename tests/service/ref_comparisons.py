"""Counting `ServiceRef` comparisons, for the tests that hold a tick's work linear."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.model import ServiceRef


def count_ref_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that gets one item per `ServiceRef.__eq__` call until the patch is undone
    (each still compares as before)."""
    compared: list[None] = []
    real = ServiceRef.__eq__

    def counting(self: ServiceRef, other: Any) -> bool:
        compared.append(None)
        return real(self, other)

    monkeypatch.setattr(ServiceRef, "__eq__", counting)
    return compared
