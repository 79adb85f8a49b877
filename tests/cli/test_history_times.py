"""Times and durations as people read them (issue 16 item 10): `history` shows each row in
the zone of the policy that decided it, reasons read durations as ``5m``, `report` prints
its span in the ``--tz`` zone. The rows come from `decide()`, so the text is the rules'."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reclaimer.ledger import Ledger
from reclaimer.model import BusyAtStop
from tests.cli.conftest import run_cli
from tests.ledger.conftest import migrated
from tests.policy.decide_builders import busy, idle_only, office, only, quiet, run, svc, t

pytestmark = pytest.mark.timeout(60)

BERLIN_STOP = t("01-12 18:00")  # office hours end at 19:00 in Berlin
IDLE_AT = t("01-12 22:00")


@pytest.fixture
def db(sqlite_url: str, clean_env: object) -> Iterator[Ledger]:
    """A deferred Berlin schedule stop of llama and an idle stop of bert by a policy
    without a zone, both as `decide()` wrote them."""
    ledger = migrated(sqlite_url)
    llama, bert = svc("llama"), svc("bert")
    deferred = only(run(BERLIN_STOP, [office(busy_at_stop=BusyAtStop.DEFER)], [llama],
                        signals=[busy(llama, BERLIN_STOP)]))
    ledger.record_blocked(deferred, actor="r", at=BERLIN_STOP)
    idle = only(run(IDLE_AT, [idle_only()], [bert], signals=[quiet(bert, IDLE_AT)]))
    ledger.record_planned(idle, strategy="native", actor="r", at=IDLE_AT)
    yield ledger
    ledger.close()


def _row(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if f" {name} " in line)


@pytest.mark.parametrize(("name", "shown"), [
    pytest.param("llama", "2026-01-12T19:00:00+01:00", id="berlin-policy-in-berlin-time"),
    pytest.param("bert", "2026-01-12T22:00:00+00:00", id="policy-without-zone-in-utc"),
])
def test_history_shows_each_row_in_its_policys_zone(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger, name: str,
        shown: str) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url)
    assert (code, _row(out, name).split()[1]) == (0, shown)


def test_tz_puts_every_row_in_one_zone(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                       db: Ledger) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url, "--tz", "America/New_York")
    assert (code, [_row(out, n).split()[1] for n in ("llama", "bert")]) == (
        0, ["2026-01-12T13:00:00-05:00", "2026-01-12T17:00:00-05:00"])


def test_a_deferral_reads_its_durations_and_deadline_as_the_team_does(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url)
    assert code == 0
    assert ("deferred: last request 20s ago, within 5m; forced at 2026-01-12T21:00:00+01:00"
            in _row(out, "llama"))


def test_json_stays_rfc3339_in_utc(capsys: pytest.CaptureFixture[str], sqlite_url: str,
                                   db: Ledger) -> None:
    code, out, _ = run_cli(capsys, "history", "--db", sqlite_url, "-o", "json")
    assert (code, '"at": "2026-01-12T18:00:00+00:00"' in out) == (0, True)


def test_report_prints_its_span_in_the_chosen_zone_to_the_second(
        capsys: pytest.CaptureFixture[str], sqlite_url: str, db: Ledger) -> None:
    code, out, _ = run_cli(capsys, "report", "--db", sqlite_url, "--tz", "Europe/Berlin",
                           "--since", "2026-01-12T00:00:00.5Z", "--until",
                           "2026-01-13T00:00:00Z")
    assert (code, out.splitlines()[0]) == (0, (
        "GPU-hours reclaimed 2026-01-12T01:00:00+01:00 .. 2026-01-13T01:00:00+01:00: 0.00"))
