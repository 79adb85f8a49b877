"""The ledger commands: exit codes, one-line refusals that write nothing, JSON output."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from reclaimer.cli import main
from reclaimer.ledger import Ledger
from reclaimer.ledger.engine import ENV_VAR
from reclaimer.ledger.schema_check import head_revision
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition
from tests.ledger.conftest import migrated

NOW = at(10)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The verbs read the wall clock for `--until 2h` and `--since 6h`: it stands at NOW."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    with freeze_time(NOW):
        yield


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Ledger]:
    ledger = migrated(sqlite_url)
    yield ledger
    ledger.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _holds(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT namespace, name FROM holds").fetchall()


def test_db_upgrade_makes_a_usable_ledger(capsys: pytest.CaptureFixture[str],
                                          sqlite_url: str) -> None:
    assert _run(capsys, "db", "upgrade", "--db", sqlite_url)[0] == 0
    assert _run(capsys, "history", "--db", sqlite_url, "-o", "json")[:2] == (0, "[]\n")


def test_db_upgrade_works_from_any_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    done = subprocess.run([sys.executable, "-m", "reclaimer", "db", "upgrade", "--db", url],
                          cwd="/", capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert f"schema at {head_revision()}" in done.stdout


def test_the_database_comes_from_the_environment(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 sqlite_url: str, db: Ledger) -> None:
    monkeypatch.setenv(ENV_VAR, sqlite_url)
    assert _run(capsys, "hold", "team-a/llama", "--until", "2h", "--reason", "demo")[0] == 0
    assert set(db.view(NOW).holds) == {LLAMA}


@pytest.mark.parametrize(("until", "expected"), [
    pytest.param("2h", at(12), id="duration"),
    pytest.param("2026-03-02T20:00:00+01:00", at(11), id="rfc3339-offset"),
    pytest.param("2026-03-02T19:30:00Z", at(11.5), id="rfc3339-zulu"),
])
def test_hold_until(capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger,
                    until: str, expected: datetime) -> None:
    code, out, _ = _run(capsys, "hold", "team-a/llama", "--until", until, "--reason", "demo",
                        "--who", "alice", "--db", sqlite_url)
    assert code == 0
    assert out.startswith("team-a/llama held until ")
    hold = db.view(NOW).holds[LLAMA]
    assert hold.until == expected
    assert (hold.who, hold.reason) == ("alice", "demo")


@pytest.mark.parametrize(("ref", "until", "message"), [
    pytest.param("team-a/llama", "2026-03-02T09:00:00Z", "--until: .* is not after now",
                 id="past"),
    pytest.param("team-a/llama", "yesterday", "--until: 'yesterday' is neither RFC 3339",
                 id="not-a-time"),
    pytest.param("team-a/llama", "2026-03-02T20:00:00", "--until: .* needs a UTC offset",
                 id="no-offset"),
    pytest.param("team-a/llama", "2x", "--until: \"2x\" is not a duration", id="bad-duration"),
    pytest.param("llama", "2h", "NS/NAME: 'llama' is not namespace/name", id="no-slash"),
    pytest.param("team-a/", "2h", "NS/NAME: 'team-a/' is not", id="no-name"),
    pytest.param("Team-A/llama", "2h", "NS/NAME: 'Team-A/llama' is not", id="upper-case"),
    pytest.param("a/b/c", "2h", "NS/NAME: unknown kind 'a' in 'a/b/c'", id="two-slashes"),
])
def test_a_bad_hold_exits_1_with_the_reason_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger, ref: str,
        until: str, message: str) -> None:
    code, out, err = _run(capsys, "hold", ref, "--until", until, "--reason", "demo",
                          "--db", sqlite_url)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("reclaimer: ")
    assert re.search(message, err)
    assert _holds(Path(sqlite_url.removeprefix("sqlite:///"))) == []


@pytest.mark.parametrize(("held", "said"), [
    pytest.param(True, "team-a/llama released\n", id="held"),
    pytest.param(False, "team-a/llama was not held\n", id="not-held"),
])
def test_release(capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger,
                 held: bool, said: str) -> None:
    if held:
        db.hold(LLAMA, until=at(12), reason="demo", who="alice", now=NOW)
    assert _run(capsys, "release", "team-a/llama", "--db", sqlite_url)[:2] == (0, said)
    assert db.view(NOW).holds == {}


def _seed(db: Ledger) -> None:
    for ref, action, hours, gpus in [(LLAMA, Action.STOP, 1, 1), (LLAMA, Action.START, 5, 1),
                                     (BERT, Action.STOP, 2, 4)]:
        record = db.record_planned(transition(ref, action=action, hours=hours, gpus=gpus),
                                   strategy="native", actor="r", at=at(hours))
        db.mark_applied(record.id, at=at(hours))
    db.record_planned(transition(MISTRAL, hours=8, trigger=Trigger.IDLE,
                                 reason=Reason.IDLE_TIMEOUT, edge=False),
                      strategy="native", actor="r", at=at(8))


@pytest.mark.parametrize(("flags", "names"), [
    pytest.param([], ["mistral", "llama", "bert", "llama"], id="all"),
    pytest.param(["--namespace", "team-a"], ["mistral", "llama", "llama"], id="namespace"),
    pytest.param(["--trigger", "idle"], ["mistral"], id="trigger"),
    pytest.param(["--since", "6h"], ["mistral", "llama"], id="since-duration"),
    pytest.param(["--since", "2026-03-02T10:00:00Z"], ["mistral", "llama", "bert"],
                 id="since-rfc3339"),
    pytest.param(["--limit", "1"], ["mistral"], id="limit"),
])
def test_history_json(capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger,
                      flags: list[str], names: list[str]) -> None:
    _seed(db)
    code, out, _ = _run(capsys, "history", "--db", sqlite_url, "-o", "json", *flags)
    assert code == 0
    assert [item["name"] for item in json.loads(out)] == names


def test_history_table_has_a_header_and_a_row_each(capsys: pytest.CaptureFixture[str],
                                                   sqlite_url: str, db: Ledger) -> None:
    _seed(db)
    code, out, _ = _run(capsys, "history", "--db", sqlite_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "AT", "NAMESPACE", "NAME"]
    assert len(lines) == 5


def test_report_json_counts_gpu_hours(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                      db: Ledger) -> None:
    _seed(db)
    code, out, _ = _run(capsys, "report", "--db", sqlite_url, "--since", "1d", "-o", "json")
    report = json.loads(out)
    assert code == 0
    assert report["totalGpuHours"] == 36.0
    assert {r["key"]: r["gpuHours"] for r in report["byNamespace"]} == {
        "team-a": 4.0, "team-b": 32.0}
    assert [r["key"] for r in report["byPolicy"]] == ["team-a/office-hours"]


def test_report_png_draws_a_timeline(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                     db: Ledger, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional extra `plot` is not installed")
    _seed(db)
    png = tmp_path / "timeline.png"
    assert _run(capsys, "report", "--db", sqlite_url, "--png", str(png))[0] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_png_without_matplotlib_names_the_extra(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sqlite_url: str,
        db: Ledger, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = _run(capsys, "report", "--db", sqlite_url, "--png",
                          str(tmp_path / "t.png"))
    assert (code, out) == (1, "")
    assert "the optional extra `plot`: pip install 'reclaimer[plot]'" in err
    assert not (tmp_path / "t.png").exists()


@pytest.mark.parametrize(("url", "message"), [
    pytest.param("postgresql+psycopg://u:s3cret@127.0.0.1:{port}/x",
                 "LedgerUnavailable: cannot reach database postgresql\\+psycopg://u:\\*\\*\\*@",
                 id="unreachable"),
    pytest.param("oracle://u:s3cret@h/x", "LedgerUnavailable: unsupported database URL",
                 id="malformed"),
    pytest.param("sqlite:///{empty}", "SchemaBehind: .* run `reclaimer db upgrade --db sqlite:",
                 id="schema-behind"),
    pytest.param("sqlite:///{missing}", "SchemaBehind: .* does not exist yet", id="no-file"),
])
@pytest.mark.parametrize("command", [
    pytest.param(["history"], id="history"),
    pytest.param(["hold", "team-a/llama", "--until", "2h", "--reason", "x"], id="hold"),
    pytest.param(["release", "team-a/llama"], id="release"),
    pytest.param(["report"], id="report"),
])
def test_a_bad_database_exits_1_in_one_line_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, unused_port: int, url: str,
        message: str, command: list[str]) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    url = url.format(port=unused_port, empty=empty, missing=tmp_path / "missing.db")
    code, out, err = _run(capsys, *command, "--db", url)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert re.search(message, err)
    assert "s3cret" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
    assert empty.stat().st_size == 0



@pytest.mark.parametrize(("url", "message"), [
    pytest.param("postgresql+psycopg://u:s3cret@127.0.0.1:{port}/x",
                 "LedgerUnavailable: .*u:\\*\\*\\*@127.0.0.1", id="unreachable"),
    pytest.param("sqlite:///{missing_dir}/x.db", "LedgerUnavailable: .*does not exist",
                 id="missing-directory"),
    pytest.param("oracle://u:s3cret@h/x", "LedgerUnavailable: unsupported", id="malformed"),
])
def test_db_upgrade_on_a_bad_database_exits_1_in_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, unused_port: int, url: str,
        message: str) -> None:
    url = url.format(port=unused_port, missing_dir=tmp_path / "nope")
    code, out, err = _run(capsys, "db", "upgrade", "--db", url)
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert re.search(message, err)
    assert "s3cret" not in err
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_a_window_that_ends_before_it_starts(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger) -> None:
    code, out, err = _run(capsys, "report", "--db", sqlite_url, "--since", "2027-01-01T00:00:00Z")
    assert (code, out) == (1, "")
    assert "--since: 2027-01-01T00:00:00+00:00 is not before now" in err
