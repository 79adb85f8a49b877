"""The ledger contract: the stops in force, whoever made them (issue 14 case 1)."""

from __future__ import annotations

import pytest

from reclaimer.ledger import Ledger
from reclaimer.model import Action, Reason, ServiceRef, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition


def _applied(ledger: Ledger, ref: ServiceRef, *, action: Action = Action.STOP,
             hours: float = 0, actor: str = "r") -> int:
    record = ledger.record_planned(transition(ref, action=action, hours=hours),
                                   strategy="managed-raw", actor=actor, at=at(hours))
    ledger.mark_applied(record.id, at=at(hours))
    return record.id


def _names(ledger: Ledger) -> list[str]:
    return [r.transition.ref.name for r in ledger.stops_in_force()]


def test_stops_in_force_carry_every_actors_stop(ledger: Ledger) -> None:
    """A CLI stop and another replica's stop are held like this process's own."""
    _applied(ledger, LLAMA, actor="alice (reclaimer stop)")
    _applied(ledger, BERT, actor="replica-b", hours=1)
    found = ledger.stops_in_force()
    assert [(r.transition.ref, r.actor, r.strategy) for r in found] == [
        (LLAMA, "alice (reclaimer stop)", "managed-raw"), (BERT, "replica-b", "managed-raw")]


@pytest.mark.parametrize(("ending", "names"), [
    pytest.param("applied", ["llama"], id="applied"),
    pytest.param("verified", ["llama"], id="verified"),
    pytest.param("failed", [], id="failed"),
    pytest.param("abandoned", [], id="abandoned"),
])
def test_stops_in_force_only_applied_or_verified(ledger: Ledger, ending: str,
                                                 names: list[str]) -> None:
    record_id = _applied(ledger, LLAMA)
    if ending == "verified":
        ledger.mark_verified(record_id, at=at(1))
    elif ending == "failed":
        ledger.mark_failed(record_id, at=at(1), error="not verified")
    elif ending == "abandoned":
        ledger.mark_abandoned(record_id, at=at(1), error="gone")
    assert _names(ledger) == names


def test_stops_in_force_exclude_superseded_stops(ledger: Ledger) -> None:
    _applied(ledger, LLAMA, hours=0)
    _applied(ledger, LLAMA, action=Action.START, hours=1)
    _applied(ledger, MISTRAL, hours=2)
    external = transition(BERT, hours=3, trigger=Trigger.EXTERNAL,
                          reason=Reason.EXTERNAL_CHANGE, edge=False)
    ledger.record_external(external, field_manager="kubectl", at=at(3), key="bert/stop")
    assert _names(ledger) == ["mistral"]


@pytest.mark.parametrize("gpus", [pytest.param(4, id="the-runtime-s"),
                                  pytest.param(0, id="none-by-itself")])
def test_the_gpus_a_stop_freed_replace_the_decisions_count_in_the_report(
        ledger: Ledger, gpus: int) -> None:
    """A ModelMesh stop learns what it freed only when it runs (docs/design.md §5)."""
    record_id = _applied(ledger, LLAMA)
    ledger.record_gpus(record_id, gpus)
    (row,) = ledger.history()
    report = ledger.report(since=at(0), now=at(2))
    assert (row.transition.gpus, report.total_gpu_hours) == (gpus, 2.0 * gpus)
