"""`reclaimer demo` runs the real loop on the sandbox; one simulated day is enough here."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from reclaimer.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(["demo", "--days", "1", "--out", str(out)])
    return code, printed.getvalue(), out


def test_demo_exits_zero(demo_day: tuple[int, str, Path]) -> None:
    assert demo_day[0] == 0


@pytest.mark.parametrize("line", [
    pytest.param("START   team-a/llama       schedule: ScheduleStart", id="schedule-start"),
    pytest.param("STOP    team-a/llama       idle: IdleTimeout", id="idle-stop"),
    pytest.param("team-a/mistral schedule: DeferredBusy", id="deferred-while-busy"),
    pytest.param("STOP    team-a/mistral     schedule: ScheduleStop", id="stopped-when-quiet"),
    pytest.param("GPU-hours reclaimed from", id="summary"),
])
def test_demo_prints(demo_day: tuple[int, str, Path], line: str) -> None:
    assert line in demo_day[1]


def test_demo_never_touches_the_unselected_model(demo_day: tuple[int, str, Path]) -> None:
    assert "team-a/embedder" not in demo_day[1]


def test_demo_keeps_its_ledger(demo_day: tuple[int, str, Path]) -> None:
    assert (demo_day[2] / "demo.db").stat().st_size > 0
