"""A ModelMesh stop closed with no new decision whose putting back of the runtime fails
transiently (review r-safe4): the sibling of h-safe4's split for managed Standard
stops. Sandbox over HTTP (modelmesh-serving's ServingRuntime controller), a real
ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.ledger import Ledger
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness
from tests.executor.test_modelmesh_runtime import RUNTIME, _isvc, _replicas, _runtime

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_a_kept_runtime_stop_whose_putting_back_fails_transiently_is_retried(
        make_harness: MakeHarness, store: Ledger) -> None:
    """The stop scaled the runtime to 0, then its condition met 503s: kept for a retry.
    Its decision is not taken again, and scaling the runtime back meets 503s too: the
    row must stay for the next tick, which puts the runtime back. On h-safe4 it was
    ``failed`` for good ("the runtime may still be at 0"), the only user's runtime
    left at 0 with nobody retrying (DESIGN §5: only a permanent error is terminal)."""
    h = _harness_on(make_harness, store)
    before = _replicas(h)
    h.handle.faults.add("patch", "inferenceservices", name="a", status=503, times=3)
    kept = h.apply(Action.STOP, "a")
    h.settle()
    stopped = _replicas(h)
    h.handle.faults.add("patch", "servingruntimes", name=RUNTIME, status=503, times=3)
    first = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    during = _replicas(h)
    second = h.executor.settle_retries([], at=T0 + timedelta(minutes=2))
    h.settle()
    assert (kept.kind, stopped, [o.kind for o in first], during,
            [o.kind for o in second], _replicas(h), _failed(h)) == (
        OutcomeKind.RETRY, (0, 0), [], (0, 0), [OutcomeKind.ABANDONED], before, [])


def _harness_on(make_harness: MakeHarness, store: Ledger) -> Harness:
    h = make_harness("0.16", scenario={"objects": [_runtime(), _isvc("a")]}, ledger=store)
    h.settle()
    return h


def _failed(h: Harness) -> list[str]:
    return [e["reason"] for e in h.events() if e["reason"] == "ReclaimFailed"
            and e["metadata"]["namespace"] == NS]
