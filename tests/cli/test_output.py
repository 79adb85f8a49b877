"""kubectl habits (issue 16, items 11-12): --version, completion, holds, -o yaml|wide,
and empty results that say why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from freezegun import freeze_time

from reclaimer.cli.report_png import draw, gpus_over_time
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.records import Report, ReportRow, StopInterval
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import ServiceRef
from tests.cli.conftest import run_cli
from tests.ledger.builders import at

ROOT = Path(__file__).resolve().parents[2]
POLICIES, INVENTORY = str(ROOT / "policies"), str(ROOT / "examples" / "inventory.yaml")
AT = "2026-03-30T19:05:00+02:00"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "--version")
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("reclaimer ")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_names_every_verb_and_its_flags(capsys: pytest.CaptureFixture[str],
                                                   shell: str) -> None:
    code, out, _ = run_cli(capsys, "completion", shell)
    assert code == 0
    assert "complete -F _reclaimer reclaimer" in out
    assert "holds" in out and "--until" in out and "--kubeconfig" in out


@pytest.mark.parametrize("verb", [
    pytest.param(["plan", "--policies", POLICIES, "--inventory", INVENTORY, "--at", AT],
                 id="plan"),
    pytest.param(["schedule", f"{POLICIES}/office-hours-berlin.yaml", "--from",
                  "2026-03-27T00:00:00Z", "--to", "2026-04-01T00:00:00Z"], id="schedule"),
])
def test_yaml_carries_the_json_items(capsys: pytest.CaptureFixture[str],
                                     verb: list[str]) -> None:
    _, as_json, _ = run_cli(capsys, *verb, "-o", "json")
    _, as_yaml, _ = run_cli(capsys, *verb, "-o", "yaml")
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


def test_plan_wide_lists_the_ungoverned(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--policies", POLICIES, "--inventory", INVENTORY, "--at", AT]
    _, table, _ = run_cli(capsys, *argv)
    _, wide, _ = run_cli(capsys, *argv, "-o", "wide")
    assert "ungoverned" not in table
    assert [line.split()[:2] for line in wide.splitlines() if "ungoverned" in line] == [
        ["team-a", "llama-prod"]]


def test_an_empty_plan_says_why(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "nobody.yaml"
    policy.write_text("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
                      "metadata: {name: nobody}\nspec:\n  selector: {matchLabels: "
                      "{nobody: here}}\n  idle: {after: 30m}\n")
    code, out, _ = run_cli(capsys, "plan", "--policies", str(policy), "--inventory",
                           INVENTORY, "--at", AT)
    assert code == 0
    assert "service(s) in the inventory, 0 governed by a policy" in out


@freeze_time("2026-03-02T10:00:00Z")
def test_holds_lists_the_holds_in_force(capsys: pytest.CaptureFixture[str],
                                        sqlite_url: str, clean_env: Path) -> None:
    upgrade(parse_url(sqlite_url))
    ledger = open_ledger(sqlite_url)
    ledger.hold(ServiceRef("team-a", "llama"), until=at(12), reason="eval", who="alice",
                now=at(2))
    ledger.close()
    code, out, _ = run_cli(capsys, "holds", "--db", sqlite_url, "-o", "json")
    assert code == 0
    assert [(h["namespace"], h["name"], h["who"]) for h in json.loads(out)] == [
        ("team-a", "llama", "alice")]


@freeze_time("2026-03-02T10:00:00Z")
def test_empty_history_says_why(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                clean_env: Path) -> None:
    upgrade(parse_url(sqlite_url))
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url, "--namespace", "team-z")
    assert code == 0
    assert out.splitlines()[-1] == "(no transitions recorded matching --namespace team-z)"


def _report(days: int) -> Report:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    intervals = tuple(
        StopInterval(ref=ServiceRef("team-a", f"m{n}"), policy="p",
                     start=since + timedelta(days=d, hours=19),
                     end=since + timedelta(days=d + 1, hours=8), gpus=n)
        for n in (1, 2, 4) for d in range(days - 1))
    total = sum(i.gpu_hours for i in intervals)
    row = ReportRow(key="team-a", gpu_hours=total, stops=len(intervals), unknown_gpus=0)
    return Report(since=since, now=since + timedelta(days=days), by_namespace=(row,),
                  by_policy=(row,), intervals=intervals)


def test_the_gpus_over_time_enclose_the_gpu_hours() -> None:
    report = _report(30)
    steps = gpus_over_time(report)
    area = sum(level * (later - instant).total_seconds() / 3600
               for (instant, level), (later, _) in pairwise(steps))
    assert area == pytest.approx(report.total_gpu_hours)
    assert max(level for _, level in steps) == 7


def test_a_thirty_day_picture_is_drawn_with_its_total_in_the_title(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional extra `plot` is not installed")
    png = tmp_path / "month.png"
    draw(_report(30), str(png), zone=ZoneInfo("Europe/Berlin"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
