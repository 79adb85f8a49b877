"""`ServiceRef` hashes: computed once per object, never carried to another process."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from enum import Enum
from typing import Any

import pytest

from reclaimer.model import ServiceKind, ServiceRef

CHILD = """
import pickle, sys
from reclaimer.model import ServiceRef
ref = pickle.loads(sys.stdin.buffer.read())
fresh = ServiceRef("team-a", "model-1")
print({fresh: "found"}.get(ref, "missing"), ref == fresh)
"""


def test_a_ref_hashes_its_fields_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tick looks each service's ref up in dozens of dicts and sets (6.6 million
    hashes in one evaluation at 50,000 ISVCs): the fields (and the kind's
    Python-level enum hash) are hashed once per object. Before: 151 times here."""
    kind_hashes: list[None] = []

    def counting(self: Any) -> int:
        kind_hashes.append(None)
        return Enum.__hash__(self)

    monkeypatch.setattr(ServiceKind, "__hash__", counting)
    ref, same = ServiceRef("team-a", "model-1"), ServiceRef("team-a", "model-1")
    found = {same: 1}
    assert all(found[ref] == 1 and hash(ref) == hash(same) for _ in range(50))
    assert len(kind_hashes) == 2  # once for each of the two objects


def test_a_pickled_ref_is_found_in_a_process_with_another_hash_seed() -> None:
    ref = ServiceRef("team-a", "model-1")
    hash(ref)  # cached here, under this process's string hashes
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", CHILD], input=pickle.dumps(ref),
                          capture_output=True, check=True, env=env)
    assert done.stdout.decode().split() == ["found", "True"]


def test_refs_still_order_and_compare_by_their_fields() -> None:
    refs = [ServiceRef("b", "a"), ServiceRef("a", "b", ServiceKind.LLM_INFERENCE_SERVICE),
            ServiceRef("a", "b")]
    hash(refs[0])
    assert sorted(refs) == [refs[2], refs[1], refs[0]]
    assert refs[0] == ServiceRef("b", "a") and refs[1] != refs[2]
