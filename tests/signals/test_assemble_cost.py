"""`assemble` and the recorded coverage at scale: per service, one lookup says whether it
has per-pod rows, and the evaluation's constants are computed once. Counted, not timed
(one evaluation at 50,000 ISVCs assembles 100,000 `Signals`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest

from reclaimer.model import EMPTY, ServiceRef, SignalState
from reclaimer.signals import assemble as assemble_module
from reclaimer.signals import recorded_answer
from reclaimer.signals.answer import Row
from reclaimer.signals.assemble import GPU, REQUESTS, Evaluation, Observations, assemble
from reclaimer.signals.queries import Query
from reclaimer.signals.recorded_answer import Check, LastSeen, normalized
from reclaimer.signals.windows import window_value
from tests.fixtures.counting import count_calls

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SERVICES = 100


def _healthy(refs: list[ServiceRef], ev: Evaluation) -> Observations:
    now = AT.timestamp()
    return Observations(
        requests=dict.fromkeys(refs, 3.0), last_request=dict.fromkeys(refs, now - 90),
        coverage={(r, s): float(ev.expected) for r in refs for s in (REQUESTS, GPU)},
        freshness={(r, s): now - 15 for r in refs for s in (REQUESTS, GPU)},
        gpu_max=dict.fromkeys(refs, 12.0), gpu_mean=dict.fromkeys(refs, 4.0),
        gpus=dict.fromkeys(refs, 1.0),
        gpu_pod_missing={refs[0]: {"pod-0": 2.0}})


def test_services_without_pod_rows_ask_no_empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-pod tables default to `EMPTY`; asked whether it holds a ref, `Mapping`'s
    own ``in`` (and ``get``) raised and caught a KeyError: 400 times for these 100
    services before, none now."""
    ev = Evaluation(at=AT, window=timedelta(minutes=30))
    refs = [ServiceRef("team", f"m{i:03d}") for i in range(SERVICES)]
    obs = _healthy(refs, ev)
    raised: list[None] = []

    def counting(self: Any, key: Any) -> NoReturn:
        raised.append(None)
        raise KeyError(key)

    monkeypatch.setattr(type(EMPTY), "__getitem__", counting)
    found = assemble(obs, ev)
    monkeypatch.undo()
    assert len(raised) == 0
    assert [s.state for s in found.values()].count(SignalState.KNOWN) == SERVICES - 1
    assert "pod pod-0" in (found[refs[0]].reason or "")


def test_the_expected_steps_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_calls(monkeypatch, assemble_module, "expected_steps")
    ev = Evaluation(at=AT + timedelta(seconds=7), window=timedelta(minutes=17))
    refs = [ServiceRef("team", f"m{i:03d}") for i in range(SERVICES)]
    assert len(assemble(_healthy(refs, ev), ev)) == SERVICES
    assert len(calls) == 1


def test_recorded_coverage_computes_the_steps_once_per_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two windows, 100 services: the raw grid's steps are asked twice (100 times before,
    once per row), and each row is scaled as before."""
    calls = count_calls(monkeypatch, recorded_answer, "expected_steps")
    step, windows = timedelta(minutes=1), [timedelta(minutes=5), timedelta(minutes=30)]
    check = Check(evaluations=100.0, newest=AT.timestamp())
    rows: dict[Query, list[Row]] = {q: [] for q in Query} | {Query.COVERAGE: [
        Row(ServiceRef("team", f"m{i:03d}"), REQUESTS, 4.0 if i % 2 else 31.0,
            window=window_value(windows[i % 2])) for i in range(SERVICES)]}
    last_seen = LastSeen(step=step, recent=windows[0], coarse=step)
    out = normalized(rows, check, at=AT, windows=windows, step=step, last_seen=last_seen)
    monkeypatch.undo()
    assert len(calls) == len(windows)
    made = [check.expected(at=AT.timestamp(), span=w + step, step=step) for w in windows]
    assert {r.value for r in out[Query.COVERAGE]} == {
        assemble_module.expected_steps(AT, windows[0], step) * min(1.0, 31.0 / made[0]),
        assemble_module.expected_steps(AT, windows[1], step) * min(1.0, 4.0 / made[1])}
