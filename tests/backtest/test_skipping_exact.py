"""The replay's skipping is exact: the same stops and starts as asking at every step.

`simulate.Loop` asks `decide()` only where an answer can change (`wake`, `carry`,
`deferred`); each of its clauses claims that nothing changes elsewhere (issue 18). The
reference here asks `decide()` about every governed service at every step, carries
nothing, and reads a ``during: offHours`` window from `window_open` itself; both
replays must give every service the same stopped intervals, starts and stops during
traffic. Histories are built straight from generated traces, as in test_property.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.traces import generate
from reclaimer.backtest.options import Options, Restart
from reclaimer.backtest.simulate import Loop
from reclaimer.backtest.state import Outcome
from reclaimer.model import (
    BusyAtStop,
    DecideSettings,
    IdleDuring,
    IdleRule,
    NamespaceSelector,
    Policy,
    Service,
    ServiceRef,
    Trigger,
    Window,
)
from reclaimer.policy.matching import Match
from reclaimer.policy.schedule import window_open
from tests.backtest.test_property import _service, history_of

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
OFFICE = (Window(start="0 9 * * 1-5", stop="0 18 * * 1-5"),)


class EveryStep(Loop):
    """The reference: every governed service asked at every step, nothing skipped."""

    def _step(self, index: int) -> None:
        for ref in self._due(self.requests, index):
            if not self.tracks[ref].running:
                self._start(ref, index, trigger=Trigger.EXTERNAL)
        everyone = set(self.tracks)
        self._apply(self._decide(index, everyone, set()), index, everyone)
        self.wake.clear()

    def _windows(self, matches: Sequence[Match], index: int) -> dict[str, bool | None]:
        policies = {m.policy.key: m.policy for m in matches
                    if m.policy.idle is not None and m.policy.idle.during is IdleDuring.OFF_HOURS}
        return {key: window_open(policy, self.grid.at(index)) for key, policy in policies.items()}


@dataclass(frozen=True)
class Case:
    shapes: tuple[str, ...]
    policy: Policy
    lead: timedelta = timedelta(0)
    restart: Restart = Restart.ON_REQUEST
    seed: int = 3
    days: int = 2


def _policy(*, after: timedelta | None, schedule: bool = False,
            during: IdleDuring = IdleDuring.ALWAYS, max_defer: timedelta = timedelta(hours=2),
            busy: BusyAtStop = BusyAtStop.DEFER) -> Policy:
    idle = None if after is None else IdleRule(after=after, during=during,
                                               min_uptime=timedelta(minutes=5))
    return Policy(name="p", namespace=None, source="test",
                  namespace_selector=NamespaceSelector(("ns",)), time_zone="UTC",
                  schedule=OFFICE if schedule else (), idle=idle, busy_at_stop=busy,
                  max_defer=max_defer)


def _figures(outcome: Outcome) -> dict[ServiceRef, tuple[object, ...]]:
    return {ref: (tuple((s.start, s.end) for s in track.stops), track.starts,
                  track.during_traffic) for ref, track in sorted(outcome.tracks.items())}


def _both(case: Case) -> tuple[dict[ServiceRef, tuple[object, ...]], ...]:
    traces = [generate(shape, namespace="ns", name=f"m{i}", start=START, days=case.days,
                       seed=case.seed + i) for i, shape in enumerate(case.shapes)]
    history = history_of(traces, START, days=case.days)
    services: list[Service] = [_service(t) for t in traces]
    options = Options(restart=case.restart,
                      settings=DecideSettings(start_lead_time=case.lead))
    first = history.grid.index((START + timedelta(hours=1)).timestamp())
    skipping = Loop([case.policy], services, history, first=first, options=options).run()
    reference = EveryStep([case.policy], services, history, first=first,
                          options=options).run()
    assert reference.asked > skipping.asked  # the reference really asked more
    return _figures(skipping), _figures(reference)


SEVEN = ("office", "bursty", "nightly", "weekly", "sporadic", "always", "never")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", [
    pytest.param(Case(SEVEN, _policy(after=timedelta(minutes=30))), id="idle-30m"),
    pytest.param(Case(SEVEN, _policy(after=timedelta(minutes=10))),
                 id="idle-10m-under-the-breakers-span"),
    pytest.param(Case(SEVEN, _policy(after=timedelta(minutes=30), schedule=True,
                                     during=IdleDuring.OFF_HOURS), lead=timedelta(minutes=10)),
                 id="office-off-hours-idle-with-start-lead"),
    pytest.param(Case(SEVEN, _policy(after=None, schedule=True,
                                     max_defer=timedelta(minutes=40)),
                      restart=Restart.ON_REQUEST),
                 id="office-deferred-stops-restarted-on-request"),
    pytest.param(Case(SEVEN, _policy(after=timedelta(minutes=20), schedule=True),
                      lead=timedelta(minutes=15), restart=Restart.NEVER),
                 id="office-and-idle-always-never-restarted"),
])
def test_skipping_gives_what_asking_at_every_step_gives(case: Case) -> None:
    skipping, reference = _both(case)
    assert skipping == reference


@st.composite
def generated_cases(draw: st.DrawFn) -> Case:
    """A fleet of five to seven shapes under an idle rule, a schedule or both."""
    after = draw(st.sampled_from([None, 6, 12, 30, 75]))
    schedule = after is None or draw(st.booleans())
    during = IdleDuring.OFF_HOURS if schedule and draw(st.booleans()) else IdleDuring.ALWAYS
    policy = _policy(after=None if after is None else timedelta(minutes=after),
                     schedule=schedule, during=during,
                     max_defer=timedelta(minutes=draw(st.sampled_from([10, 45, 120]))))
    return Case(tuple(draw(st.lists(st.sampled_from(SEVEN), min_size=5, max_size=7))), policy,
                lead=timedelta(minutes=draw(st.sampled_from([0, 5, 20]))),
                restart=draw(st.sampled_from(list(Restart))),
                seed=draw(st.integers(0, 10_000)), days=1)


@pytest.mark.timeout(600)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=generated_cases())
def test_skipping_is_exact_for_generated_fleets(case: Case) -> None:
    skipping, reference = _both(case)
    assert skipping == reference
