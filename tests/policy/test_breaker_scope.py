"""Issue 13 case 10 (pure rules): the mass-idle breaker per namespace and across ticks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reclaimer.model import DecideSettings, LedgerView, Reason, Service, ServiceRef, Signals
from reclaimer.policy.decide import decide
from tests.policy.decide_builders import busy, idle_only, quiet, run, svc, t

NOW = t("01-12 22:00")
FILE_POLICY = replace(idle_only(), namespace=None)  # every namespace


def _in(namespace: str, name: str) -> Service:
    return replace(svc(name), ref=ServiceRef(namespace, name), uid=f"{namespace}-{name}")


def _fleet(idle: dict[str, int], busy_: dict[str, int]) -> tuple[list[Service], list[Signals]]:
    services, signals = [], []
    for namespace, count in idle.items():
        for i in range(count):
            service = _in(namespace, f"idle{i}")
            services.append(service)
            signals.append(quiet(service, NOW))
    for namespace, count in busy_.items():
        for i in range(count):
            service = _in(namespace, f"busy{i}")
            services.append(service)
            signals.append(busy(service, NOW))
    return services, signals


def test_case10_breaker_trips_for_one_namespace_diluted_by_the_fleet() -> None:
    services, signals = _fleet({"team-b": 6}, {"team-a": 30, "team-b": 1})
    plan = run(NOW, [FILE_POLICY], services, signals=signals)
    assert plan.breaker_open
    assert plan.actionable == ()
    assert {tr.reason for tr in plan.transitions} == {Reason.MASS_IDLE_BREAKER}
    assert "namespace team-b" in plan.alerts[0]


def test_case10_a_tripped_namespace_leaves_the_others_acting() -> None:
    services, signals = _fleet({"team-b": 6, "team-c": 1}, {"team-a": 30, "team-c": 3})
    plan = run(NOW, [FILE_POLICY], services, signals=signals)
    assert [tr.ref for tr in plan.actionable] == [ServiceRef("team-c", "idle0")]


@pytest.mark.parametrize(("stopped_ago", "open_"), [
    pytest.param(timedelta(minutes=5), True, id="three-stopped-5m-ago-count"),
    pytest.param(timedelta(minutes=14), True, id="within-the-span"),
    pytest.param(timedelta(minutes=20), False, id="older-than-the-span"),
])
def test_case10_idle_verdicts_across_ticks_count_together(stopped_ago: timedelta,
                                                          open_: bool) -> None:
    services, signals = _fleet({"team-a": 3}, {"team-a": 4})
    recent = {ServiceRef("team-a", f"gone{i}"): NOW - stopped_ago for i in range(3)}
    plan = run(NOW, [FILE_POLICY], services, signals=signals,
               ledger=LedgerView(recent_idle_stops=recent),
               settings=DecideSettings(mass_idle_span=timedelta(minutes=15)))
    assert plan.breaker_open is open_
    assert len(plan.actionable) == (0 if open_ else 3)


@pytest.mark.parametrize(("bystanders", "open_"), [
    pytest.param({}, True, id="six-idle-of-six-running"),
    pytest.param({"team-b": 30}, False, id="thirty-quiet-bystanders-in-the-namespace"),
    pytest.param({"team-a": 30}, True, id="bystanders-elsewhere-do-not-dilute-team-b"),
])
def test_bystanders_count_as_running_services(bystanders: dict[str, int], open_: bool) -> None:
    """The backtest asks `decide()` only about services with something to decide and
    passes the other running ones as ``bystanders``: the breaker counts them."""
    services, signals = _fleet({"team-b": 6}, {})
    plan = decide(NOW, [FILE_POLICY], services, signals={s.ref: s for s in signals},
                  ledger=LedgerView(), settings=DecideSettings(), bystanders=bystanders)
    assert plan.breaker_open is open_
    assert len(plan.actionable) == (0 if open_ else 6)
