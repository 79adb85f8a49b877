"""Schedule work in decide() is per policy, never per service: counted, not timed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from reclaimer.model import IdleDuring, IdleRule
from reclaimer.policy import decide as decide_module
from reclaimer.policy import idle_stop, wake
from tests.policy.decide_builders import office, quiet, run, svc, t

SPIED = [(decide_module, "cached_edges_between"), (decide_module, "window_open"),
         (idle_stop, "window_open"), (wake, "cached_edges_between"), (wake, "next_edge")]


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
