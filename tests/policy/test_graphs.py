"""An InferenceGraph under an idle rule follows its members (policy/graphs.py, issue 15
item 2): stopped a tick after its last member, started before its first one; members
read from the graph's steps (kserve.graph_members)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from reclaimer.kserve import graph_members
from reclaimer.model import (
    Action,
    Hold,
    LastTransition,
    LedgerView,
    Reason,
    Service,
    ServiceKind,
    ServiceRef,
    ServiceState,
    Transition,
    Trigger,
)
from tests.policy.decide_builders import idle_only, office, run, svc, t

GRAPH_KIND = ServiceKind.INFERENCE_GRAPH
NOW = t("01-14 12:00")  # a Wednesday, inside office hours
MONDAY_START = t("01-12 07:00")  # 08:00 in Berlin: office hours start
STOPPED = ServiceState.STOPPED
GRAPHS = idle_only(name="graphs", kinds=frozenset({GRAPH_KIND}))
MEMBERS = office(kinds=frozenset({ServiceKind.INFERENCE_SERVICE}))


def graph(state: ServiceState = ServiceState.RUNNING, **changes: Any) -> Service:
    base = svc("flow", state=state, kind=GRAPH_KIND, members=("bert", "llama"), gpus=None)
    return replace(base, ref=ServiceRef("team-a", "flow", GRAPH_KIND), **changes)


def stopped_with_members(trigger: Trigger = Trigger.IDLE) -> LedgerView:
    ref = graph().ref
    return LedgerView(last_transitions={ref: LastTransition(
        ref, Action.STOP, trigger, NOW - timedelta(days=3), "uid-flow")})


def _graph_rows(plan: Any) -> list[tuple[str, str, str, str | None]]:
    return [(t.action.value, t.trigger.value, t.reason.value, t.blocked)
            for t in plan.transitions if t.ref.kind is GRAPH_KIND]


def test_a_graph_whose_members_are_all_stopped_is_stopped() -> None:
    plan = run(NOW, [GRAPHS], [graph(), svc("llama", state=STOPPED), svc("bert", state=STOPPED)])
    assert _graph_rows(plan) == [("stop", "idle", "MembersStopped", None)]


@pytest.mark.parametrize("services", [
    pytest.param([svc("llama", state=STOPPED), svc("bert")], id="one-member-running"),
    pytest.param([svc("llama", state=STOPPED)], id="a-member-not-observed"),
    pytest.param([svc("llama", state=STOPPED),
                  svc("bert", state=ServiceState.STOPPING)], id="a-member-still-stopping"),
])
def test_a_graph_with_a_member_not_stopped_keeps_running(services: list[Service]) -> None:
    assert _graph_rows(run(NOW, [GRAPHS], [graph(), *services])) == []


@pytest.mark.parametrize("changes", [
    pytest.param({"members": None}, id="members-unknown"),
    pytest.param({"created_at": NOW - timedelta(minutes=10)}, id="up-too-briefly"),
])
def test_a_graph_that_may_not_follow_its_members_keeps_running(changes: dict[str, Any]) -> None:
    stopped = [svc("llama", state=STOPPED), svc("bert", state=STOPPED)]
    assert _graph_rows(run(NOW, [GRAPHS], [graph(**changes), *stopped])) == []


def test_a_graph_without_an_idle_rule_does_not_follow_its_members() -> None:
    schedule_only = office(name="graph-hours", kinds=frozenset({GRAPH_KIND}))
    stopped = [svc("llama", state=STOPPED), svc("bert", state=STOPPED)]
    rows = _graph_rows(run(NOW, [schedule_only], [graph(), *stopped]))
    assert [row for row in rows if row[0] == "stop"] == []


def test_the_graph_starts_first_when_a_member_start_is_planned() -> None:
    members = [svc("llama", state=STOPPED), svc("bert", state=STOPPED)]
    plan = run(MONDAY_START, [GRAPHS, MEMBERS], [graph(STOPPED), *members],
               ledger=stopped_with_members())
    first = plan.transitions[0]
    assert (first.ref.kind, first.action, first.reason, first.evidence["starting"]) == (
        GRAPH_KIND, Action.START, Reason.MEMBER_STARTING, "bert,llama")
    assert sorted((t.ref.name, t.action.value) for t in plan.transitions[1:]) == [
        ("bert", "start"), ("llama", "start")]


def test_the_graph_starts_when_a_person_starts_a_member() -> None:
    plan = run(NOW, [GRAPHS], [graph(STOPPED), svc("llama"), svc("bert", state=STOPPED)],
               ledger=stopped_with_members())
    assert _graph_rows(plan) == [("start", "idle", "MemberStarting", None)]


@pytest.mark.parametrize("trigger", [pytest.param(Trigger.SCHEDULE, id="by-a-schedule"),
                                     pytest.param(Trigger.MANUAL, id="by-a-person")])
def test_a_graph_stopped_otherwise_is_not_started_by_its_members(trigger: Trigger) -> None:
    plan = run(NOW, [GRAPHS], [graph(STOPPED), svc("llama"), svc("bert")],
               ledger=stopped_with_members(trigger))
    assert _graph_rows(plan) == []


def test_a_held_graph_is_not_started_with_its_members() -> None:
    ledger = replace(stopped_with_members(), holds={graph().ref: Hold(
        ref=graph().ref, until=NOW + timedelta(hours=1), reason="migration", who="ana")})
    plan = run(NOW, [GRAPHS], [graph(STOPPED), svc("llama"), svc("bert")], ledger=ledger)
    assert [(row[0], row[2]) for row in _graph_rows(plan)] == [("start", "Held")]


def _graph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "InferenceGraph",
            "spec": {"nodes": {f"n{i}": node for i, node in enumerate(nodes)}}}


@pytest.mark.parametrize(("obj", "members"), [
    pytest.param(_graph({"steps": [{"serviceName": "b"}, {"serviceName": "a"}]}), ("a", "b"),
                 id="sequence"),
    pytest.param(_graph({"steps": [{"nodeName": "n1"}]}, {"steps": [{"serviceName": "a"}]}),
                 ("a",), id="node-steps-point-inside"),
    pytest.param(_graph({"steps": [{"serviceName": "a"}, {"serviceUrl": "http://x"}]}), None,
                 id="a-url-is-outside-sight"),
    pytest.param(_graph({"steps": "a"}), None, id="malformed-steps"),
    pytest.param(_graph({"steps": [{"nodeName": "n0"}]}), None, id="no-service"),
    pytest.param({"kind": "InferenceGraph", "spec": {}}, None, id="no-nodes"),
])
def test_members_are_the_services_the_steps_name(obj: dict[str, Any],
                                                 members: tuple[str, ...] | None) -> None:
    assert graph_members(obj) == members


def _proposal_reads(monkeypatch: pytest.MonkeyPatch, fleet: int) -> int:
    """How often `decide()` asks whether a transition is actionable, with ``fleet``
    stopped members starting at the Monday edge beside one graph."""
    reads = 0
    original = Transition.actionable

    def counted(self: Transition) -> bool:
        nonlocal reads
        reads += 1
        return bool(original.fget(self))  # type: ignore[attr-defined]

    monkeypatch.setattr(Transition, "actionable", property(counted))
    members = [svc(f"m{i}", state=STOPPED) for i in range(fleet)]
    plan = run(MONDAY_START, [GRAPHS, MEMBERS], [graph(STOPPED), *members],
               ledger=stopped_with_members())
    monkeypatch.undo()
    assert sum(t.action is Action.START for t in plan.transitions) >= fleet
    return reads


def test_a_tick_reads_its_proposals_a_number_of_times_linear_in_the_fleet(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Graph starts once rebuilt the tick's proposal sets per service: 11 s of
    `decide()` at 10,000 services."""
    small, large = (_proposal_reads(monkeypatch, n) for n in (50, 200))
    assert large <= 5 * small
