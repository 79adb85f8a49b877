"""`reclaimer validate` and `reclaimer schedule`, in-process and as the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reclaimer.cli import main

HERE = Path(__file__).parent
BAD = sorted((HERE / "bad").glob("*.yaml"))
POLICIES = HERE.parents[1] / "policies"
GOOD = POLICIES / "office-hours-berlin.yaml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "reclaimer"


def expected_field(path: Path) -> str:
    """Each corpus file starts with ``# field: <path>``: the field its error must name."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# field: "), f"{path.name} lacks its '# field:' header"
    return first.removeprefix("# field: ")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_corpus_has_at_least_30_documents() -> None:
    assert len(BAD) >= 30


@pytest.mark.parametrize("bad", [pytest.param(p, id=p.stem) for p in BAD])
def test_bad_document_names_its_field_in_json(
    bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", str(bad), str(GOOD), "-o", "json")
    assert code == 1
    assert [(item["file"], item["document"], item["field"]) for item in json.loads(out)] == [
        (str(bad), 1, expected_field(bad))]


@pytest.mark.parametrize("bad", [pytest.param(p, id=p.stem) for p in BAD])
def test_valid_document_in_the_same_call_is_reported_valid(
    bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", str(bad), str(GOOD), "-o", "wide")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert code == 1
    assert rows[str(GOOD)][2:4] == ["office-hours-berlin", "yes"]
    assert rows[str(bad)][2:5] == ["<none>", "no", f"{expected_field(bad)}:"]


def test_console_script_exits_1_and_names_the_field() -> None:
    bad = HERE / "bad" / "idle-after-words.yaml"
    done = subprocess.run([str(CONSOLE_SCRIPT), "validate", str(bad), str(GOOD), "-o", "wide"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert 'spec.idle.after: "30 minutes" is not a duration (e.g. 30m, 1h30m)' in done.stdout
    assert "office-hours-berlin   yes" in done.stdout


def test_bundled_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(POLICIES), "-o", "json")
    assert (code, json.loads(out)) == (0, [])


def test_table_lists_every_document_of_a_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.read_text()
    stream = tmp_path / "stream.yaml"
    stream.write_text(text + "---\nkind: [\n---\n" + text.replace("office-hours-berlin", "two"))
    code, out, _ = run(capsys, "validate", str(stream), "-o", "wide")
    assert code == 1
    assert [line.split()[1:4] for line in out.splitlines()[1:-1]] == [
        ["1", "office-hours-berlin", "yes"], ["2", "<none>", "no"], ["3", "two", "yes"]]


@pytest.mark.parametrize(("make", "field", "message"), [
    pytest.param(lambda d: d / "missing.yaml", "(document)", "cannot read the file",
                 id="missing-file"),
    pytest.param(lambda d: d, "(document)", "no .yaml or .yml files here", id="empty-directory"),
])
def test_unusable_paths_are_invalid(
    tmp_path: Path, make: Callable[[Path], Path], field: str, message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make(tmp_path)
    code, out, _ = run(capsys, "validate", str(path), "-o", "json")
    [item] = json.loads(out)
    assert (code, item["field"], item["document"]) == (1, field, 0)
    assert message in item["message"]


def test_policy_defined_twice_is_an_error_at_the_later_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.read_text())
    (tmp_path / "b.yml").write_text(GOOD.read_text())
    code, out, _ = run(capsys, "validate", str(tmp_path), "-o", "json")
    assert code == 1
    assert json.loads(out) == [{
        "file": str(tmp_path / "b.yml"), "document": 1, "field": "metadata.name",
        "message": f'"office-hours-berlin" is already defined in {tmp_path / "a.yaml"}[1]'}]


def test_schedule_json_gives_local_offsets_across_dst(
    capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "schedule", str(GOOD), "--from", "2026-03-27T00:00:00Z",
                       "--to", "2026-03-31T00:00:00+00:00", "-o", "json")
    assert code == 0
    assert json.loads(out) == [
        {"policy": "office-hours-berlin", "at": "2026-03-27T08:00:00+01:00", "action": "start"},
        {"policy": "office-hours-berlin", "at": "2026-03-27T19:00:00+01:00", "action": "stop"},
        {"policy": "office-hours-berlin", "at": "2026-03-30T08:00:00+02:00", "action": "start"},
        {"policy": "office-hours-berlin", "at": "2026-03-30T19:00:00+02:00", "action": "stop"},
    ]


def test_schedule_table_shows_local_time_and_utc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", str(POLICIES / "dry-run.yaml"),
                       "--from", "2026-03-30T00:00:00+05:30", "--to", "2026-03-31T00:00:00Z")
    assert code == 0
    assert out.splitlines()[1].split() == [
        "research/weekend-trial", "Mon", "2026-03-30", "09:00", "IST", "(Asia/Kolkata)",
        "2026-03-30T03:30Z", "start"]


@pytest.mark.parametrize(("start", "end", "flag"), [
    pytest.param("yesterday", "2026-03-31T00:00:00Z", "--from", id="not-a-time"),
    pytest.param("2026-03-27T00:00:00", "2026-03-31T00:00:00Z", "--from", id="no-offset"),
    pytest.param("2026-03-27T00:00:00Z", "2026-03-31", "--to", id="date-only"),
    pytest.param("2026-03-31T00:00:00Z", "2026-03-27T00:00:00Z", "--to", id="to-before-from"),
])
def test_schedule_bad_time_names_the_flag(
    start: str, end: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "schedule", str(GOOD), "--from", start, "--to", end)
    assert (code, out) == (1, "")
    assert err.startswith(f"reclaimer: {flag}: ")


def test_schedule_reports_invalid_documents_and_lists_the_valid(
    capsys: pytest.CaptureFixture[str]
) -> None:
    bad = HERE / "bad" / "time-zone-misspelt.yaml"
    code, out, err = run(capsys, "schedule", str(bad), str(GOOD), "--from",
                         "2026-03-30T00:00:00Z", "--to", "2026-03-31T00:00:00Z", "-o", "json")
    assert code == 1
    assert f"{bad}[1]: spec.timeZone:" in err
    assert [item["policy"] for item in json.loads(out)] == ["office-hours-berlin"] * 2


def test_schedule_without_from_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["schedule", str(GOOD), "--to", "2026-03-31T00:00:00Z"])
    assert exited.value.code == 2
    assert "--from" in capsys.readouterr().err
