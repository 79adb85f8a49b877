"""A service's kind is part of its identity in every store (issue 15 items 2-3).

An InferenceService and an LLMInferenceService may share a namespace and a name (a
migration from one to the other); their facts, holds and restore information must not
mix, and every history row says which kind it acted on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reclaimer.ledger import Ledger
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Action, ServiceKind, ServiceRef
from tests.ledger.builders import at, transition

ISVC = ServiceRef("team-a", "chat")
LLM = ServiceRef("team-a", "chat", ServiceKind.LLM_INFERENCE_SERVICE)
GRAPH = ServiceRef("team-a", "chat", ServiceKind.INFERENCE_GRAPH)
pytestmark = pytest.mark.timeout(60)


def _applied(ledger: Ledger, ref: ServiceRef, *, action: Action, hours: float) -> None:
    t = replace(transition(ref, action=action, hours=hours), uid=f"uid-{ref.kind.value}",
                edge_key=f"p|uid-{ref.kind.value}|{hours}|{action.value}")
    record = ledger.record_planned(t, strategy="native", actor="r", at=at(hours))
    ledger.mark_applied(record.id, at=at(hours))


def test_history_rows_say_the_kind(ledger: Ledger) -> None:
    _applied(ledger, LLM, action=Action.STOP, hours=0)
    _applied(ledger, GRAPH, action=Action.STOP, hours=0.1)
    assert [r.transition.ref for r in ledger.history(namespace="team-a")] == [GRAPH, LLM]


def test_facts_of_namesakes_of_two_kinds_stay_apart(ledger: Ledger) -> None:
    _applied(ledger, ISVC, action=Action.STOP, hours=0)
    _applied(ledger, LLM, action=Action.START, hours=1)
    last = ledger.view(at(2)).last_transitions
    assert {ref: t.action for ref, t in last.items()} == {ISVC: Action.STOP,
                                                           LLM: Action.START}


def test_a_hold_on_one_kind_leaves_its_namesake_unheld(ledger: Ledger) -> None:
    ledger.hold(LLM, until=at(5), reason="eval", who="alice", now=at(0))
    assert set(ledger.view(at(1)).holds) == {LLM}
    assert ledger.release(ISVC) is False
    assert ledger.release(LLM) is True


def test_restore_info_is_kept_per_kind(ledger: Ledger) -> None:
    ledger.save_restore_info(ISVC, "uid-1", {"strategy": "managed-raw"}, at=at(0))
    ledger.save_restore_info(LLM, "uid-1", {"strategy": "native"}, at=at(0))
    assert [(ledger.load_restore_info(ref, "uid-1") or {}).get("strategy")
            for ref in (ISVC, LLM, GRAPH)] == ["managed-raw", "native", None]


def test_a_chunk_claims_namesakes_of_two_kinds_apart(ledger: Ledger) -> None:
    entries = [PlannedEntry(replace(transition(ref), uid=f"uid-{ref.kind.value}",
                                    edge_key=f"p|uid-{ref.kind.value}"),
                            strategy="native", restore={"strategy": "native"})
               for ref in (ISVC, LLM)]
    ids = ledger.record_planned_many(entries, actor="r", at=at(0))
    ledger.mark_applied_many([i for i in ids if i is not None], at=at(0) + timedelta(1))
    assert set(ledger.view(at(2)).last_transitions) == {ISVC, LLM}


@pytest.mark.parametrize(("kind", "refs"), [
    pytest.param(ServiceKind.LLM_INFERENCE_SERVICE, [LLM], id="llmisvc"),
    pytest.param(ServiceKind.INFERENCE_SERVICE, [ISVC], id="isvc"),
    pytest.param(None, [GRAPH, LLM, ISVC], id="any"),
])
def test_history_filters_by_kind(ledger: Ledger, kind: ServiceKind | None,
                                 refs: list[ServiceRef]) -> None:
    for hours, ref in enumerate((ISVC, LLM, GRAPH)):
        _applied(ledger, ref, action=Action.STOP, hours=hours)
    assert [r.transition.ref for r in ledger.history(kind=kind, limit=3)] == refs
