"""A tick's transitions in chunks: API calls by verb, ledger transactions, stale copies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.ledger import MemoryLedger, SqlLedger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, ServiceRef
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = pytest.mark.integration
NAMES = [f"m{i}" for i in range(6)]
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as workers:
        yield workers


def _stop_all(h: Harness, pool: ThreadPoolExecutor, names: list[str] = NAMES) -> list[Any]:
    transitions = [h.transition(Action.STOP, name) for name in names]
    h.handle.request_log.clear()
    return h.executor.apply_many(transitions, at=T0, pool=pool)


def _calls(h: Harness) -> dict[str, int]:
    log = h.handle.request_log
    return {"get": log.count(verb="get", resource="inferenceservices"),
            "patch": log.count(verb="patch", resource="inferenceservices"),
            "event": log.count(verb="create", resource="events")}


@pytest.mark.parametrize(("cache", "gets"), [
    pytest.param("frozen", 0, id="from-the-watch-cache"),
    pytest.param(None, len(NAMES), id="without-a-cache"),
])
def test_each_native_stop_costs_one_patch_and_one_event(
        make_harness: MakeHarness, pool: ThreadPoolExecutor, cache: str | None,
        gets: int) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in NAMES], cache=cache)
    outcomes = _stop_all(h, pool)
    assert {o.kind for o in outcomes} == {OutcomeKind.APPLIED}
    assert _calls(h) == {"get": gets, "patch": len(NAMES), "event": len(NAMES)}


def test_outcomes_come_back_in_the_order_given(make_harness: MakeHarness,
                                               pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in NAMES], cache="frozen", chunk_size=4)
    transitions = [h.transition(Action.STOP, name) for name in NAMES]
    h.rest.request("DELETE", f"{ISVC}/m2")
    outcomes = h.executor.apply_many(transitions, at=T0, pool=pool)
    assert [(o.ref.name, o.kind) for o in outcomes] == [
        (n, OutcomeKind.ABANDONED if n == "m2" else OutcomeKind.APPLIED) for n in NAMES]


@pytest.mark.parametrize(("chunk_size", "transactions"), [
    pytest.param(200, 2, id="one-chunk"),
    pytest.param(4, 4, id="two-chunks"),
    pytest.param(1, 12, id="chunks-of-one"),
])
def test_each_chunk_costs_two_ledger_transactions(
        make_harness: MakeHarness, pool: ThreadPoolExecutor, tmp_path: Path,
        chunk_size: int, transactions: int) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in NAMES], cache="frozen",
                     chunk_size=chunk_size)
    url = parse_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(url)
    ledger = SqlLedger.open(str(url))
    begins: list[str] = []
    event.listen(ledger._engine, "before_cursor_execute",
                 lambda *args: begins.append(args[2]) if args[2] == "BEGIN IMMEDIATE" else None)
    executor = Executor(h.cluster, ledger, actor="r", options=h.executor.options,
                        cached=h.inventory)
    try:
        outcomes = executor.apply_many([h.transition(Action.STOP, n) for n in NAMES], at=T0,
                                       pool=pool)
        states = {r.state.value for r in ledger.history()}
    finally:
        ledger.close()
    assert ({o.kind for o in outcomes}, states) == ({OutcomeKind.APPLIED}, {"applied"})
    assert len(begins) == transactions


def test_a_stale_cached_copy_gets_a_409_and_the_users_change_stays(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", isvc_entry(), cache="frozen")
    h.rest.request("PATCH", f"{ISVC}/llama", body={"metadata": {"labels": {"owner": "bob"}}},
                   content_type="application/merge-patch+json")
    (first,) = _stop_all(h, pool, ["llama"])
    meta = h.isvc()["metadata"]
    assert (first.kind, "409" in first.message, h.states()) == (
        OutcomeKind.RETRY, True, ["planned"])
    assert (meta["labels"].get("owner"), meta.get("annotations", {}).get("serving.kserve.io/stop")
            ) == ("bob", None)


def test_the_retry_reads_afresh_and_reuses_the_planned_row(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", isvc_entry(), cache="frozen")
    h.rest.request("PATCH", f"{ISVC}/llama", content_type="application/merge-patch+json",
                   body={"metadata": {"annotations": {"serving.kserve.io/stop": "false"}}})
    (first,) = _stop_all(h, pool, ["llama"])
    (second,) = _stop_all(h, pool, ["llama"])
    assert (first.kind, second.kind, second.record_id) == (
        OutcomeKind.RETRY, OutcomeKind.APPLIED, first.record_id)
    assert (_calls(h), h.states()) == ({"get": 1, "patch": 1, "event": 1}, ["applied"])
    restore = h.ledger.load_restore_info(h.ref(), h.isvc()["metadata"]["uid"]) or {}
    assert restore.get("stopAnnotation") == "false"


def test_an_edge_claimed_elsewhere_is_skipped_in_its_chunk_without_a_write(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", isvc_entry("a"), isvc_entry("b"), cache="frozen")
    taken, free = (h.transition(Action.STOP, n, edge_key=f"p|{n}|19:00|stop") for n in "ab")
    h.ledger.record_planned(taken, strategy="native", actor="other-replica", at=T0)
    h.handle.request_log.clear()
    outcomes = h.executor.apply_many([taken, free], at=T0, pool=pool)
    assert [o.kind for o in outcomes] == [OutcomeKind.SKIPPED, OutcomeKind.APPLIED]
    patched = h.handle.request_log.entries(verb="patch", resource="inferenceservices")
    assert [e.name for e in patched] == ["b"]


def test_a_managed_stop_reads_the_whole_object(make_harness: MakeHarness,
                                               pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.14", isvc_entry(), cache="frozen")
    (outcome,) = _stop_all(h, pool, ["llama"])
    assert (outcome.kind, outcome.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert h.handle.request_log.count(verb="get", resource="inferenceservices") == 1


def test_a_service_missing_from_the_cache_is_read(make_harness: MakeHarness,
                                                  pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", isvc_entry("a"), cache="frozen")
    h.handle.apply({"namespaces": [NS], "inferenceServices": [isvc_entry("b")]})
    (outcome,) = _stop_all(h, pool, ["b"])
    assert outcome.kind is OutcomeKind.APPLIED
    assert h.handle.request_log.count(verb="get", resource="inferenceservices") == 1


class FailsOnce(KubeCluster):
    """A cluster adapter with a bug that shows once, on one service's PATCH."""

    def __init__(self, rest: Rest, *, name: str) -> None:
        super().__init__(rest)
        self.name = name

    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        if ref.name == self.name:
            self.name = ""
            raise RuntimeError("a bug")
        return super().patch_isvc(ref, body)


def test_an_unexpected_error_is_raised_after_the_chunk_is_marked(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in "abc"])
    executor = Executor(FailsOnce(h.rest, name="b"), h.ledger, actor="r")
    transitions = [h.transition(Action.STOP, n) for n in "abc"]
    with pytest.raises(RuntimeError, match="a bug"):
        executor.apply_many(transitions, at=T0, pool=pool)
    states = {r.transition.ref.name: r.state.value for r in h.ledger.history()}
    events = sorted(e["involvedObject"]["name"] for e in h.events())
    (again,) = executor.apply_many(transitions[1:2], at=T0, pool=pool)
    assert (states, events) == ({"a": "applied", "b": "planned", "c": "applied"}, ["a", "c"])
    assert (again.kind, len(h.ledger.history())) == (OutcomeKind.APPLIED, 3)


def test_a_no_op_seen_in_a_stale_copy_is_checked_against_the_server(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    """The cache says running, the server says stopped: a START must still PATCH."""
    h = make_harness("0.16", isvc_entry(), cache="frozen")
    h.rest.request("PATCH", f"{ISVC}/llama", content_type="application/merge-patch+json",
                   body={"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    start = h.transition(Action.START)
    h.handle.request_log.clear()
    (started,) = h.executor.apply_many([start], at=T0, pool=pool)
    calls = _calls(h)
    stop = (h.isvc()["metadata"].get("annotations") or {}).get("serving.kserve.io/stop")
    assert (started.kind, calls["get"], calls["patch"], stop) == (
        OutcomeKind.APPLIED, 1, 1, None)


class FailsToRead(KubeCluster):
    """A bug met while reading one ISVC, before anything is claimed."""

    def __init__(self, rest: Rest, *, name: str) -> None:
        super().__init__(rest)
        self.name = name

    def get_isvc(self, ref: ServiceRef) -> dict[str, Any]:
        if ref.name == self.name:
            raise RuntimeError("a bug")
        return super().get_isvc(ref)


def test_a_transition_that_cannot_be_prepared_fails_alone(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in "abc"])
    executor = Executor(FailsToRead(h.rest, name="b"), h.ledger, actor="r")
    outcomes = executor.apply_many([h.transition(Action.STOP, n) for n in "abc"], at=T0,
                                   pool=pool)
    states = {r.transition.ref.name: r.state.value for r in h.ledger.history()}
    assert ([o.kind for o in outcomes], states) == (
        [OutcomeKind.APPLIED, OutcomeKind.FAILED, OutcomeKind.APPLIED],
        {"a": "applied", "c": "applied"})


class SettledMeanwhile(MemoryLedger):
    """Another replica settles the last planned row of each chunk right after the claim
    (as a standby's start-up recovery once could)."""

    def record_planned_many(self, entries: Sequence[PlannedEntry], *, actor: str,
                            at: datetime) -> list[int | None]:
        ids = super().record_planned_many(entries, actor=actor, at=at)
        if ids and ids[-1] is not None:
            self.mark_abandoned(ids[-1], at=at, error="settled by another replica")
        return ids


def test_a_row_that_may_not_be_marked_keeps_the_others_marks(
        make_harness: MakeHarness, pool: ThreadPoolExecutor) -> None:
    h = make_harness("0.16", *[isvc_entry(n) for n in "abc"], cache="frozen")
    executor = Executor(h.cluster, SettledMeanwhile(), actor="r", cached=h.inventory)
    outcomes = executor.apply_many([h.transition(Action.STOP, n) for n in "abc"], at=T0,
                                   pool=pool)
    states = {r.transition.ref.name: r.state.value for r in executor.ledger.history()}
    assert ([o.kind for o in outcomes], states, len(executor.followup.awaiting)) == (
        [OutcomeKind.APPLIED, OutcomeKind.APPLIED, OutcomeKind.FAILED],
        {"a": "applied", "b": "applied", "c": "abandoned"}, 2)
