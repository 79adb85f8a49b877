"""Two OS processes race for one edge; a SIGKILLed process leaves a pending row."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reclaimer.ledger import Ledger, RecordState
from tests.ledger.conftest import migrated

ROOT = Path(__file__).resolve().parents[2]
EDGES = 8

pytestmark = pytest.mark.integration


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("postgres", id="postgres-15"),
])
def shared(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[tuple[str, Ledger]]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ledger = migrated(url)
    yield url, ledger
    ledger.close()


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger.worker", *args], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str]) -> int:
    """Close both pipes and reap: a leaked pipe is a ResourceWarning, an error here."""
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    return process.wait(timeout=30)


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def test_exactly_one_of_two_processes_claims_each_edge(shared: tuple[str, Ledger]) -> None:
    url, ledger = shared
    replicas = [_worker("race", url, f"replica-{n}") for n in (1, 2)]
    try:
        assert [_line(p) for p in replicas] == ["ready", "ready"]
        outcomes = []
        for edge in range(EDGES):
            for process in replicas:
                assert process.stdin is not None
                process.stdin.write(f"edge-{edge}\n")
                process.stdin.flush()
            outcomes.append(sorted(_line(p) for p in replicas))
    finally:
        codes = [_finish(p) for p in replicas]
    assert codes == [0, 0]
    assert outcomes == [["lost", "won"]] * EDGES
    assert len(ledger.history()) == EDGES


def test_exactly_one_of_two_processes_claims_each_edge_of_a_chunk(
        shared: tuple[str, Ledger]) -> None:
    """Each replica claims the same chunk of keys, in opposite orders, in one call."""
    url, ledger = shared
    replicas = [_worker("race-many", url, f"replica-{n}") for n in (1, 2)]
    try:
        assert [_line(p) for p in replicas] == ["ready", "ready"]
        winners = []
        for chunk in range(EDGES):
            keys = [f"chunk-{chunk}-edge-{edge}" for edge in range(EDGES)]
            for process, order in zip(replicas, (keys, keys[::-1]), strict=True):
                assert process.stdin is not None
                process.stdin.write(" ".join(order) + "\n")
                process.stdin.flush()
            first, second = (_line(p).split() for p in replicas)
            winners.append([(a, b) for a, b in zip(first, second[::-1], strict=True)])
    finally:
        codes = [_finish(p) for p in replicas]
    assert codes == [0, 0]
    assert {pair for chunk in winners for pair in chunk} <= {("won", "lost"), ("lost", "won")}
    assert len(ledger.history()) == EDGES * EDGES


def test_a_killed_process_leaves_a_planned_row_for_the_next_one(
        shared: tuple[str, Ledger]) -> None:
    url, _ = shared
    doomed = _worker("plan", url)
    record_id = int(_line(doomed))
    doomed.send_signal(signal.SIGKILL)
    assert _finish(doomed) == -signal.SIGKILL
    successor = migrated(url)
    try:
        assert [(r.id, r.state, r.actor) for r in successor.pending()] == [
            (record_id, RecordState.PLANNED, "doomed")]
    finally:
        successor.close()
