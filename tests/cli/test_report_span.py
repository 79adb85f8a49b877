"""`report` and `history` read any span of the ledger: `--since` and `--until`, past or
future, so a demo's (or a backfilled) ledger can be read back exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from freezegun import freeze_time

from reclaimer.ledger import Ledger
from reclaimer.model import Action
from tests.cli.conftest import run_cli
from tests.ledger.builders import BERT, LLAMA, at, transition
from tests.ledger.conftest import migrated

# The clock reads 2026-03-01, the day before every row: the rows lie in the future.
FROZEN = "2026-03-01T12:00:00Z"


@pytest.fixture
def db(sqlite_url: str, clean_env: object) -> Iterator[Ledger]:
    ledger = migrated(sqlite_url)
    for ref, action, hours, gpus in [(LLAMA, Action.STOP, 1, 1), (LLAMA, Action.START, 5, 1),
                                     (BERT, Action.STOP, 2, 4)]:
        record = ledger.record_planned(transition(ref, action=action, hours=hours, gpus=gpus),
                                       strategy="native", actor="r", at=at(hours))
        ledger.mark_applied(record.id, at=at(hours))
    yield ledger
    ledger.close()


@pytest.mark.parametrize(("since", "until", "total"), [
    pytest.param(at(0).isoformat(), at(10).isoformat(), 4 + 32, id="all-of-it"),
    pytest.param(at(0).isoformat(), at(3).isoformat(), 2 + 4, id="until-cuts-the-stops"),
    pytest.param(at(4).isoformat(), at(10).isoformat(), 1 + 24, id="since-carries-a-stop-in"),
])
@freeze_time(FROZEN)
def test_report_reads_a_span_in_the_future_of_the_clock(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger, since: str,
        until: str, total: float) -> None:
    code, out, err = run_cli(capsys, "report", "--db", sqlite_url, "--since", since,
                             "--until", until, "-o", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["totalGpuHours"] == total


@freeze_time(FROZEN)
def test_report_refuses_an_empty_span(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                      db: Ledger) -> None:
    code, out, err = run_cli(capsys, "report", "--db", sqlite_url, "--since",
                             at(5).isoformat(), "--until", at(5).isoformat())
    assert (code, out) == (1, "")
    assert "--until:" in err and "is not after --since" in err


@pytest.mark.parametrize(("flags", "names"), [
    pytest.param(["--until", at(2).isoformat()], ["llama"], id="until-exclusive"),
    pytest.param(["--since", at(2).isoformat(), "--until", at(6).isoformat()],
                 ["llama", "bert"], id="since-and-until"),
])
@freeze_time(FROZEN)
def test_history_takes_until(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                             db: Ledger, flags: list[str], names: list[str]) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url, "-o", "json", *flags)
    assert code == 0
    assert [item["name"] for item in json.loads(out)] == names


@freeze_time(FROZEN)
def test_history_table_times_in_a_chosen_zone(capsys: pytest.CaptureFixture[str],
                                              sqlite_url: str, db: Ledger) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url, "--tz", "Asia/Kolkata")
    assert code == 0
    assert out.splitlines()[1].split()[1] == "2026-03-02T18:30:00+05:30"  # 13:00Z, newest
