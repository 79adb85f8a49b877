"""The scale benchmarks at toy size: they still run, and their counts hold.

`make bench` is not part of `make test`, so a benchmark broken by a change elsewhere
would only show when someone next measures. These run the same code paths at 200 and
50 ISVCs (seconds, not minutes) and assert the counts the figures rely on: PromQL
queries are the seven signals per tick (one evaluation for all windows), API calls are
two per tick plus two per stop (the PATCH and its Event) and one per deferral, every
signal is known, and every stop of an edge storm is written once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import promdata
from benchmarks.fleet import Fleet, conditions
from benchmarks.storms_bench import edge_storm, wake_storm
from benchmarks.tick_bench import PER_STOP, constant_part
from benchmarks.tickrun import EDGE, RECORDED_DATA_FROM, RULES_FROM, TickFigures, run_ticks
from reclaimer.executor.strategy import native_kind
from reclaimer.model import DeploymentMode
from reclaimer.signals.queries import Query
from tests.fixtures.prometheus import overlapping

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def ticks() -> Iterator[list[TickFigures]]:
    yield run_ticks(Fleet(200, 20), policies=8, steady=1)[1]


def test_every_tick_asks_seven_queries_in_one_evaluation(ticks: list[TickFigures]) -> None:
    assert {(f.promql_queries, f.evaluations) for f in ticks} == {(len(Query), 1)}


def test_api_calls_are_constant_plus_a_fixed_number_per_transition(
        ticks: list[TickFigures]) -> None:
    """A tick that acts costs 2 calls plus its transitions; one that acts on nothing
    (here: the per-namespace mass-idle breaker holds the synthetic fleet's idle
    namespaces, issue 13 case 10) costs none."""
    assert {constant_part(f) for f in ticks if f.stops + f.starts} == {2}
    assert [f.api_total for f in ticks if not f.stops + f.starts + f.deferred] == [0] * sum(
        1 for f in ticks if not f.stops + f.starts + f.deferred)


def test_the_edge_tick_stops_services(ticks: list[TickFigures]) -> None:
    assert ticks[-1].stops > 0


def test_every_service_has_known_signals(ticks: list[TickFigures]) -> None:
    assert {f.unknown_signals for f in ticks} == {0}


@pytest.mark.parametrize("ledger", [pytest.param("sqlite", id="sqlite"),
                                    pytest.param("memory", id="memory")])
def test_edge_storm_writes_every_stop_once(ledger: str) -> None:
    figures = edge_storm(Fleet(50, 5), workers=4, ledger=ledger)
    assert (figures["stops"], figures["api_calls"]) == (50, 2 + PER_STOP * 50)


def test_wake_storm_starts_at_most_twenty_at_a_time() -> None:
    placed, _ = wake_storm(Fleet(50, 5), tick=30.0, workers=4)
    waves = Counter(int(t) for t in placed)
    assert [n for _, n in sorted(waves.items())] == [20, 20, 10]


@pytest.mark.parametrize("stopped", [pytest.param(False, id="running"),
                                     pytest.param(True, id="stopped")])
def test_the_fleet_status_is_kserves_evidence_of_its_native_stop(stopped: bool) -> None:
    """The sandbox has no controller Deployment (version unknown), so the fleet's own
    status must read as KServe's: a ``Stopped`` condition with a reason is not."""
    obj = {"metadata": {"annotations": {}}, "spec": {"predictor": {}},
           "status": {"deploymentMode": "RawDeployment", "conditions": conditions(stopped)}}
    assert native_kind(obj, mode=DeploymentMode.STANDARD, version=None) == "native"


@pytest.mark.timeout(400)
def test_the_recorded_benchmarks_blocks_are_compacted(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Review r-rules5: ``create-blocks-from rules`` writes a block per rule and range,
    and with every rule writing a marker the shipped file left 98 overlapping blocks
    at 10,000 ISVCs (22 before): the recorded evaluation read them 25-75 % slower than a
    live Prometheus would. The cached blocks are compacted as Prometheus compacts them."""
    monkeypatch.setattr(promdata, "CACHE", tmp_path)
    blocks = promdata.prepared(Fleet(20, 2), start=RECORDED_DATA_FROM, end=EDGE,
                               rules_from=RULES_FROM)
    assert overlapping(blocks / "data") == 0
