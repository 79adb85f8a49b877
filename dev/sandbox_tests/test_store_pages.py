"""A LIST read in pages: each page starts from the key after the last, as etcd's range
read does, instead of sorting every key of the type again (at 50,000 pods in pages of
500 that was 100 sorts of 50,000 keys per LIST, 2.3 s of the sandbox's CPU)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

import pytest

from kubesandbox import types
from kubesandbox.store import Store

NAMESPACES = ("ns-a", "ns-b", "ns-c")


def _filled(count: int) -> Store:
    store = Store()
    for i in range(count):
        store.create(types.CONFIGMAPS, {"metadata": {"name": f"cm-{i:04d}"}},
                     namespace=NAMESPACES[i % len(NAMESPACES)])
    return store


def _pages(store: Store, *, limit: int, between: Any = None) -> list[tuple[str, str]]:
    """Every (namespace, name) read in pages of ``limit``; ``between(store)`` after each."""
    read: list[tuple[str, str]] = []
    after = None
    while True:
        items, _ = store.select(types.CONFIGMAPS, None, after=after, limit=limit)
        page = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items[:limit]]
        read += page
        if len(items) <= limit:
            return read
        after = page[-1]
        if between is not None:
            between(store)


def test_paging_sorts_the_keys_once(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _filled(600)
    sorted_lengths: list[int] = []
    real = builtins.sorted

    def counting(iterable: Iterable[Any], /, **kwargs: Any) -> list[Any]:
        out = real(iterable, **kwargs)
        sorted_lengths.append(len(out))
        return out

    monkeypatch.setattr(builtins, "sorted", counting)
    read = _pages(store, limit=50)
    monkeypatch.undo()
    assert read == sorted(read) and len(read) == 600
    assert sum(sorted_lengths) == 600  # 12 pages: 7,200 keys sorted before


def test_a_page_sees_objects_created_and_removed_since_the_last() -> None:
    store = _filled(30)
    done: list[None] = []

    def change(s: Store) -> None:
        if not done:  # once, after the first page (ns-a's cm-0000 .. cm-0027)
            s.create(types.CONFIGMAPS, {"metadata": {"name": "cm-9999"}}, namespace="ns-c")
            s.delete(types.CONFIGMAPS, "ns-b", "cm-0001")
            done.append(None)

    read = _pages(store, limit=10, between=change)
    assert ("ns-c", "cm-9999") in read and ("ns-b", "cm-0001") not in read
    assert read == sorted(read) and len(read) == 30


def test_a_namespaced_page_and_a_name_pinned_list() -> None:
    store = _filled(30)
    items, _ = store.select(types.CONFIGMAPS, "ns-b", after=("ns-b", "cm-0010"), limit=3)
    assert [o["metadata"]["name"] for o in items] == ["cm-0013", "cm-0016", "cm-0019", "cm-0022"]
    pinned, _ = store.select(types.CONFIGMAPS, None, field_selector="metadata.name=cm-0004")
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in pinned] == [
        ("ns-b", "cm-0004")]
