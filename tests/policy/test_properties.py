"""Properties of decide() over generated fleets, policies, signals and ledgers.

- the same inputs, in any order, give the same plan;
- no idle stop for a service whose signals are unknown or missing;
- at most one transition per service;
- a service under an active hold never gets an actionable transition;
- missed entries are never actionable, retried entries never claim an edge, and
  next_wake is never in the past;
- matches made by the caller (the loop) give the same plan as decide() matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimer.model import (
    Action,
    BusyAtStop,
    DecideSettings,
    Hold,
    IdleDuring,
    IdleRule,
    LabelSelector,
    LastTransition,
    LedgerView,
    NamespaceSelector,
    Plan,
    Policy,
    PolicyMode,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    SignalState,
    Trigger,
    Window,
)
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import governed
from reclaimer.policy.schedule import edges_between
from tests.policy.decide_builders import svc

START = datetime(2026, 1, 5, tzinfo=UTC)
WINDOWS = [Window("0 8 * * mon-fri", "0 19 * * mon-fri"), Window("30 2 * * *", "0 6 * * *"),
           Window("0 */4 * * *", "0 2-22/4 * * *")]
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]

minutes = st.integers(min_value=0, max_value=90 * 24 * 60).map(lambda m: timedelta(minutes=m))
nows = minutes.map(lambda d: START + timedelta(days=10) + d)


@st.composite
def policies(draw: st.DrawFn, name: str) -> Policy:
    scheduled = draw(st.booleans())
    rule = st.builds(
        IdleRule, after=st.sampled_from([timedelta(minutes=10), timedelta(minutes=30)]),
        max_requests=st.integers(0, 3), gpu_utilization_below=st.sampled_from([1.0, 5.0, 50.0]),
        min_uptime=st.sampled_from([timedelta(0), timedelta(minutes=15)]),
        during=st.sampled_from(IdleDuring))
    idle = draw(rule) if draw(st.integers(0, 3)) else None
    return Policy(
        name=name, namespace=draw(st.sampled_from([None, "team-a"])), source="generated",
        selector=draw(st.sampled_from([LabelSelector(), LabelSelector({"tier": "dev"})])),
        namespace_selector=NamespaceSelector(), time_zone=draw(st.sampled_from(ZONES)),
        schedule=tuple(draw(st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=2,
                                     unique=True))) if scheduled else (),
        idle=idle, busy_at_stop=draw(st.sampled_from(BusyAtStop)),
        max_defer=draw(st.sampled_from([timedelta(0), timedelta(hours=2)])),
        mode=draw(st.sampled_from(PolicyMode)), priority=draw(st.integers(0, 2)))


@st.composite
def services(draw: st.DrawFn, index: int, now: datetime) -> Service:
    created = now - draw(minutes)
    changed = draw(st.none() | st.just(now) | minutes.map(lambda d: now - d))
    state = draw(st.sampled_from([ServiceState.RUNNING, *ServiceState]))
    return svc(f"m{index}", state=state, created=created,
               labels={"tier": draw(st.sampled_from(["dev", "prod"]))},
               stop_changed_at=changed, stop_changed_by="someone" if changed else None)


@st.composite
def signals_for(draw: st.DrawFn, service: Service, now: datetime) -> Signals | None:
    kind = draw(st.sampled_from(["none", "unknown", "quiet", "quiet", "random"]))
    if kind == "none":
        return None
    window = draw(st.sampled_from([timedelta(minutes=10), timedelta(minutes=30)]))
    if kind == "unknown":
        return Signals.unknown(service.ref, at=now, window=window, reason="generated")
    if kind == "quiet":
        return Signals(ref=service.ref, at=now, window=timedelta(minutes=30),
                       state=SignalState.KNOWN, requests=0.0,
                       seconds_since_last_request=draw(st.none() | st.floats(1800, 90_000)),
                       gpu_utilization_max=0.0, gpus=1, coverage_seconds=1800.0)
    maybe = st.none() | st.floats(0, 100)
    return Signals(ref=service.ref, at=now - draw(st.sampled_from([timedelta(0),
                                                                   timedelta(minutes=5)])),
                   window=window, state=SignalState.KNOWN, requests=draw(maybe),
                   seconds_since_last_request=draw(st.none() | st.floats(0, 10_000)),
                   gpu_utilization_max=draw(maybe), gpu_utilization_mean=None,
                   gpus=draw(st.none() | st.integers(0, 2)),
                   coverage_seconds=draw(st.none() | st.sampled_from([300.0, 600.0, 1800.0])))


@dataclass(frozen=True)
class Case:
    now: datetime
    policies: list[Policy]
    services: list[Service]
    signals: dict[ServiceRef, Signals]
    ledger: LedgerView
    settings: DecideSettings


@st.composite
def scenarios(draw: st.DrawFn) -> Case:
    now = draw(nows)
    pols = [draw(policies(f"p{i}")) for i in range(draw(st.integers(1, 3)))]
    fleet = [draw(services(i, now)) for i in range(draw(st.integers(0, 8)))]
    sigs = {s.ref: sig for s in fleet if (sig := draw(signals_for(s, now))) is not None}
    return Case(now=now, policies=pols, services=fleet, signals=sigs,
                ledger=draw(ledgers(now, pols, fleet)), settings=draw(decide_settings()))


@st.composite
def ledgers(draw: st.DrawFn, now: datetime, pols: list[Policy], fleet: list[Service]
            ) -> LedgerView:
    recent = [e for p in pols for e in edges_between(p, now - timedelta(days=2), now)[-3:]]
    keys = {e.key_for(s.uid) for s in fleet for e in recent if draw(st.booleans())}
    holds = {s.ref: Hold(s.ref, until=now + draw(st.sampled_from([-timedelta(hours=1),
                                                                   timedelta(hours=1)])),
                         reason="generated", who="prop")
             for s in fleet if draw(st.booleans())}
    last = {s.ref: LastTransition(s.ref, action=draw(st.sampled_from(Action)),
                                  trigger=Trigger.SCHEDULE, at=now - draw(minutes), uid=s.uid)
            for s in fleet if draw(st.booleans())}
    return LedgerView(applied_edge_keys=frozenset(keys), last_transitions=last, holds=holds)


def decide_settings() -> st.SearchStrategy[DecideSettings]:
    return st.builds(DecideSettings, max_stops_per_tick=st.integers(0, 4),
                     mass_idle_fraction=st.sampled_from([0.3, 0.5, 1.0]),
                     mass_idle_minimum=st.integers(1, 6), max_concurrent_starts=st.integers(0, 3),
                     start_lead_time=st.sampled_from([timedelta(0), timedelta(minutes=10)]),
                     catch_up_horizon=st.sampled_from([timedelta(hours=12), timedelta(days=3)]))


def plan_of(case: Case, *, reverse: bool = False) -> Plan:
    order = -1 if reverse else 1
    return decide(case.now, case.policies[::order], case.services[::order],
                  signals=case.signals, ledger=case.ledger, settings=case.settings)


PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(scenarios())
def test_decide_is_deterministic_and_order_free(case: Case) -> None:
    assert plan_of(case) == plan_of(case) == plan_of(case, reverse=True)


@PROPERTY
@given(scenarios())
def test_no_idle_stop_without_known_signals(case: Case) -> None:
    for t in plan_of(case).transitions:
        if t.trigger is Trigger.IDLE:
            assert t.ref in case.signals and case.signals[t.ref].state is SignalState.KNOWN


@PROPERTY
@given(scenarios())
def test_at_most_one_transition_per_service(case: Case) -> None:
    refs = [t.ref for t in plan_of(case).transitions]
    assert len(refs) == len(set(refs))


@PROPERTY
@given(scenarios())
def test_hold_always_blocks_action(case: Case) -> None:
    for t in plan_of(case).transitions:
        if case.ledger.active_hold(t.ref, case.now) is not None:
            assert not t.actionable


@PROPERTY
@given(scenarios())
def test_plan_bookkeeping_is_consistent(case: Case) -> None:
    plan = plan_of(case)
    assert not any(m.actionable for m in plan.missed)
    assert all(t.edge_key is not None or t.trigger is Trigger.IDLE or not t.actionable
               for t in plan.transitions)
    assert plan.next_wake is None or plan.next_wake > case.now
    assert plan.breaker_open == any("breaker" in a for a in plan.alerts)


@PROPERTY
@given(scenarios())
def test_idle_stops_rest_on_complete_fresh_signals(case: Case) -> None:
    for t in plan_of(case).transitions:
        if t.trigger is Trigger.IDLE:
            signals = case.signals[t.ref]
            assert abs(case.now - signals.at) <= case.settings.signals_max_age
            assert signals.coverage_seconds is not None
            assert signals.coverage_seconds >= t.evidence["idleAfterSeconds"]


@PROPERTY
@given(scenarios())
def test_matches_made_by_the_caller_give_the_same_plan(case: Case) -> None:
    given_matches = decide(case.now, case.policies, case.services, signals=case.signals,
                           ledger=case.ledger, settings=case.settings,
                           matches=governed(case.policies, case.services))
    assert given_matches == plan_of(case)
