"""Schedule work in decide() is per policy (per schedule, from an empty memo), never per
service: counted, not timed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from reclaimer.model import Edge, IdleDuring, IdleRule, Policy, ServiceRef
from reclaimer.policy import decide as decide_module
from reclaimer.policy import idle, schedule
from tests.policy.decide_builders import office, quiet, run, svc, t

SPIED = [(decide_module, "cached_edges_between"), (decide_module, "window_open"),
         (idle, "window_open"), (decide_module, "next_edge")]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counts: Counter[str] = Counter()
    for module, name in SPIED:
        real = getattr(module, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, _name: str = name,
                **kwargs: Any) -> Any:
            counts[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return counts


POLICY = office(idle=IdleRule(after=timedelta(minutes=30), during=IdleDuring.OFF_HOURS))


@pytest.mark.parametrize("size", [pytest.param(1, id="one"), pytest.param(40, id="forty")])
def test_schedule_calls_do_not_grow_with_the_fleet(calls: Counter[str], size: int) -> None:
    now = t("01-12 22:00")
    services = [svc(f"m{i:02d}") for i in range(size)]
    run(now, [POLICY], services, signals=[quiet(s, now) for s in services])
    assert dict(calls) == {"cached_edges_between": 2, "window_open": 1}


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Schedule spans computed by the edge memo, starting from an empty memo (a restart)."""
    computed: list[str] = []
    real = schedule.edges_between

    def spy(policy: Policy, start: datetime, end: datetime) -> list[Edge]:
        computed.append(policy.key)
        return real(policy, start, end)

    schedule.clear()
    monkeypatch.setattr(schedule, "edges_between", spy)
    yield computed
    schedule.clear()


@pytest.mark.parametrize(("zones", "expected"), [
    pytest.param(["Europe/Berlin"] * 12, 1, id="twelve-policies-one-schedule"),
    pytest.param(["Europe/Berlin", "Asia/Kolkata"] * 6, 2, id="twelve-policies-two-schedules"),
])
def test_first_tick_computes_each_schedule_once(spans: list[str], zones: list[str],
                                                expected: int) -> None:
    now = t("01-14 22:00")
    policies = [office(name=f"p{i}", namespace=f"ns{i}", time_zone=zone)
                for i, zone in enumerate(zones)]
    services = [svc(f"m{i}-{n}", ref=ServiceRef(f"ns{i}", f"m{n}"))
                for i in range(len(zones)) for n in range(5)]
    run(now, policies, services)
    run(now + timedelta(minutes=1), policies, services)
    assert len(spans) == expected
