"""`reclaimer demo` runs the real loop on the sandbox; one simulated day is enough here."""

from __future__ import annotations

import io
import json
import re
import shlex
from contextlib import redirect_stdout
from datetime import UTC, datetime
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


def _reproduce_command(printed: str) -> list[str]:
    line = next(line for line in printed.splitlines() if "reclaimer report --db" in line)
    return shlex.split(line.split("reclaimer report", 1)[1])


def test_the_printed_report_command_reproduces_the_demo_total(
        demo_day: tuple[int, str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    demo_total = re.search(r"GPU-hours reclaimed from .*: ([0-9.]+)\n", demo_day[1])
    assert demo_total is not None
    capsys.readouterr()
    code = main(["report", *_reproduce_command(demo_day[1]), "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert f"{report['totalGpuHours']:.1f}" == demo_total.group(1)
    assert report["totalGpuHours"] > 0


def test_the_demo_ledger_is_history(demo_day: tuple[int, str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["history", "--db", f"sqlite:///{demo_day[2] / 'demo.db'}", "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows
    assert max(datetime.fromisoformat(r["at"]) for r in rows) < datetime.now(UTC)
