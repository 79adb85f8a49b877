"""`reclaimer backtest` against a real Prometheus: figures computed by hand.

Traces (tests/backtest/conftest.py), per minute, GPU at 0 %, from Monday 00:00 UTC:
``sparse`` one request at 01:00 and one at 03:00; ``office`` a request every minute
09:30-17:00, 2 GPUs; ``late`` every minute 09:30-18:20; ``gappy`` every minute
00:00-00:30 and no sample at all from 00:40 to 01:19.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.backtest.options import Options, Restart
from reclaimer.backtest.run import Span, backtest, read_for, replay_outcome
from reclaimer.backtest.state import Outcome
from reclaimer.cli.plan_cmd import load_inventory
from reclaimer.model import DecideSettings, DeploymentMode, ServiceRef
from reclaimer.policy_files import load_paths
from reclaimer.signals.settings import PrometheusSettings
from tests.backtest.conftest import MONDAY, NS, QUIET

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

IDLE = "idle:\n    after: 30m\n"
OFFICE = ('timeZone: UTC\n  schedule:\n    - {start: "0 9 * * 1-5", stop: "0 18 * * 1-5"}\n'
          "  busyAtStop: BUSY\n")


def _policy(tmp_path: Path, name: str, spec: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
                    f"metadata: {{name: {name}}}\nspec:\n  selector: {{matchLabels: {{}}}}\n"
                    f"  namespaceSelector: {{matchNames: [{NS}]}}\n  {spec}")
    return path


def _run(url: str, inventory: Path, policy: Path, only: str, *, hours: float,
         start_hour: float = 0, restart: Restart = Restart.ON_REQUEST) -> dict[str, Any]:
    policies, errors = load_paths([policy])
    assert errors == []
    services = [s for s in load_inventory(inventory, default_mode=DeploymentMode.KNATIVE)
                if s.ref == ServiceRef(NS, only)]
    span = Span(MONDAY + timedelta(hours=start_hour), MONDAY + timedelta(hours=hours),
                timedelta(minutes=1))
    return backtest(policies, services, prometheus=PrometheusSettings(url=url), span=span,
                    options=Options(restart=restart))


def _one(result: dict[str, Any]) -> dict[str, Any]:
    [service] = result["services"]
    return {k: service[k] for k in ("gpus", "gpuHoursReclaimed", "stops", "starts",
                                    "coldStarts", "requestsWhileStopped", "oracleGpuHours")}


def test_idle_only_restarts_on_request(backtest_prometheus: str, inventory_file: Path,
                                       tmp_path: Path) -> None:
    """Stopped 00:00-01:00, 01:30-03:00, 03:30-06:00: 300 min. Oracle: gaps of 60, 119
    and 179 idle minutes, 5 min start time each: 343 min."""
    result = _run(backtest_prometheus, inventory_file, _policy(tmp_path, "idle", IDLE),
                  "sparse", hours=6)
    assert _one(result) == {"gpus": 1, "gpuHoursReclaimed": 5.0, "stops": 3, "starts": 2,
                            "coldStarts": 2, "requestsWhileStopped": 2.0,
                            "oracleGpuHours": round(343 / 60, 4)}
    assert result["totals"]["stopsDuringTraffic"] == 0
    assert result["totals"]["fractionOfOracle"] == round(300 / 343, 4)


def test_idle_only_never_restarted(backtest_prometheus: str, inventory_file: Path,
                                   tmp_path: Path) -> None:
    """Stopped at 00:00 and never started: 6 h; the one stopped interval was hit twice."""
    result = _run(backtest_prometheus, inventory_file, _policy(tmp_path, "idle", IDLE),
                  "sparse", hours=6, restart=Restart.NEVER)
    assert _one(result) == {"gpus": 1, "gpuHoursReclaimed": 6.0, "stops": 1, "starts": 0,
                            "coldStarts": 1, "requestsWhileStopped": 2.0,
                            "oracleGpuHours": round(343 / 60, 4)}


def test_office_hours(backtest_prometheus: str, inventory_file: Path, tmp_path: Path) -> None:
    """The catch-up of Friday's 18:00 stop at 00:00, start 09:00, stop 18:00: 15 h x 2 GPUs.
    Oracle: 570 idle minutes before 09:30, 419 after 17:00, less 5 min each, x 2."""
    policy = _policy(tmp_path, "office", OFFICE.replace("BUSY", "force"))
    result = _run(backtest_prometheus, inventory_file, policy, "office", hours=24)
    assert _one(result) == {"gpus": 2, "gpuHoursReclaimed": 30.0, "stops": 2, "starts": 1,
                            "coldStarts": 0, "requestsWhileStopped": 0.0,
                            "oracleGpuHours": round(979 * 2 / 60, 4)}


def test_busy_at_stop_defers_until_quiet(backtest_prometheus: str, inventory_file: Path,
                                         tmp_path: Path) -> None:
    """From 06:00: stopped at once (catch-up), started 09:00; at 18:00 it is busy until
    18:20, quiet for the 5-minute lookback at 18:25: stopped 180 + 335 minutes."""
    policy = _policy(tmp_path, "defer", OFFICE.replace("BUSY", "defer"))
    result = _run(backtest_prometheus, inventory_file, policy, "late", hours=24, start_hour=6)
    assert _one(result)["gpuHoursReclaimed"] == round(515 / 60, 4)
    assert _one(result)["stops"] == 2
    assert result["totals"]["stopsDuringTraffic"] == 0


def test_busy_at_stop_force_stops_during_traffic(backtest_prometheus: str,
                                                 inventory_file: Path, tmp_path: Path) -> None:
    """The same trace with ``force``: stopped at 18:00 while serving, and counted so. The
    request at 18:01 starts it again (ready 18:06: 6 requests waited); nothing stops it
    after that: 180 + 1 minutes."""
    policy = _policy(tmp_path, "force", OFFICE.replace("BUSY", "force"))
    result = _run(backtest_prometheus, inventory_file, policy, "late", hours=24, start_hour=6)
    assert result["totals"]["stopsDuringTraffic"] == 1
    assert _one(result) | {"oracleGpuHours": None} == {
        "gpus": 1, "gpuHoursReclaimed": round(181 / 60, 4), "stops": 2, "starts": 2,
        "coldStarts": 1, "requestsWhileStopped": 6.0, "oracleGpuHours": None}


def test_unknown_data_is_never_idle(backtest_prometheus: str, inventory_file: Path,
                                    tmp_path: Path) -> None:
    """Last request 00:30; complete data would stop it at 01:00. No sample 00:40-01:19:
    unknown from 00:42 (newest sample over 2 min old) to 01:19, 38 minutes; the first
    fully covered 30-minute window ends at 01:50, so it stops then: 70 min to 03:00."""
    result = _run(backtest_prometheus, inventory_file, _policy(tmp_path, "idle", IDLE),
                  "gappy", hours=3)
    assert _one(result)["gpuHoursReclaimed"] == round(70 / 60, 4)
    assert _one(result)["stops"] == 1
    assert result["totals"]["unknownServiceHours"] == round(38 / 60, 4)


def test_cli_json_has_the_issue_field_names(backtest_prometheus: str, inventory_file: Path,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import json  # noqa: PLC0415

    from reclaimer.cli import main  # noqa: PLC0415

    policy = _policy(tmp_path, "idle", IDLE)
    code = main(["backtest", "--policies", str(policy), "--inventory", str(inventory_file),
                 "--prometheus", backtest_prometheus, "--from", "2026-11-02T00:00:00Z",
                 "--to", "2026-11-02T06:00:00Z", "--compare", "15m,1h,auto", "-o", "json",
                 "--png", str(tmp_path / "backtest.png")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["from", "to", "step", "services", "totals", "alternatives"]
    assert set(out["services"][0]) >= {"namespace", "name", "policy", "gpus",
                                       "gpuHoursReclaimed", "stops", "starts", "coldStarts",
                                       "requestsWhileStopped", "oracleGpuHours"}
    assert set(out["totals"]) >= {"gpuHoursReclaimed", "oracleGpuHours", "fractionOfOracle",
                                  "stops", "coldStarts", "requestsWhileStopped",
                                  "stopsDuringTraffic"}
    assert [a["idleAfter"] for a in out["alternatives"]] == ["15m", "1h", "auto"]
    assert (tmp_path / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_step_is_one_line(inventory_file: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from reclaimer.cli import main  # noqa: PLC0415

    code = main(["backtest", "--policies", str(_policy(tmp_path, "idle", IDLE)),
                 "--inventory", str(inventory_file), "--prometheus", "http://127.0.0.1:9",
                 "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-02T06:00:00Z",
                 "--step", "soon"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("reclaimer: --step:") and err.count("\n") == 1


def _outcome(url: str, inventory: Path, policy: Path, *, only: str | None = None,
             restart: Restart = Restart.ON_REQUEST) -> tuple[list[Any], Outcome]:
    """Monday 06:00-24:00, the ``team-a`` services (or ``only``)."""
    policies, errors = load_paths([policy])
    assert errors == []
    services = [s for s in load_inventory(inventory, default_mode=DeploymentMode.KNATIVE)
                if s.ref.namespace == NS and only in (None, s.ref.name)]
    span = Span(MONDAY + timedelta(hours=6), MONDAY + timedelta(hours=24), timedelta(minutes=1))
    settings, options = PrometheusSettings(url=url), Options(restart=restart)
    history = read_for(policies, prometheus=settings, span=span, options=options)
    results, outcome = replay_outcome(policies, services, history, span=span, options=options)
    return [(r.ref.name, r.stops, round(r.gpu_hours * 60)) for r in results], outcome


def test_a_deferral_asks_only_about_the_deferred_service_where_it_could_end(
        backtest_prometheus: str, inventory_file: Path, tmp_path: Path) -> None:
    """All five services under the deferring office policy, from 06:00: each is asked
    at the catch-up step, at the 09:00 start and at the 18:00 stop (15 asks). Then only
    ``late`` is, deferred from 18:00 while busy, and only where the busy-at-stop verdict
    could be quiet: at 18:25 (last request 18:20, a quiet 5-minute lookback), when it
    is stopped. The loop that asked the whole policy at every deferred step asked 140
    times in 28 decisions, with the same figures."""
    figures, outcome = _outcome(backtest_prometheus, inventory_file,
                                _policy(tmp_path, "defer", OFFICE.replace("BUSY", "defer")))
    assert ("late", 2, 180 + 335) in figures
    assert (outcome.asked, outcome.decisions) == (16, 4)


def test_a_deferral_that_never_quiets_is_forced_at_its_deadline(
        backtest_prometheus: str, inventory_file: Path, tmp_path: Path) -> None:
    """Stop at 12:00 with ``maxDefer: 1h``; ``office`` serves 09:30-17:00, so the stop
    is deferred and forced at 13:00, never restarted: stopped 06:00-09:00 and
    13:00-24:00, 840 minutes x 2 GPUs. Asked at 06:00, 09:00, 12:00 and 13:00 only (the
    loop that asked at every deferred step: 63 times)."""
    spec = OFFICE.replace("BUSY", "defer").replace('stop: "0 18', 'stop: "0 12') \
        + "  maxDefer: 1h\n"
    figures, outcome = _outcome(backtest_prometheus, inventory_file,
                                _policy(tmp_path, "forced", spec), only="office",
                                restart=Restart.NEVER)
    assert figures == [("office", 2, 840 * 2)]
    assert (outcome.asked, outcome.decisions) == (4, 4)


def _breaker_replay(url: str, inventory: Path, policy: Path, *, namespace: str = NS,
                    hours: int = 24) -> tuple[list[Any], Outcome]:
    """The services of ``namespace`` idle after 30m from Monday 00:00; the breaker
    trips at 4 idle verdicts (of 5 running in ``team-a``, 4 in ``team-q``)."""
    policies, errors = load_paths([policy.parent / _namespaced(policy, namespace)])
    assert errors == []
    services = [s for s in load_inventory(inventory, default_mode=DeploymentMode.KNATIVE)
                if s.ref.namespace == namespace]
    span = Span(MONDAY, MONDAY + timedelta(hours=hours), timedelta(minutes=1))
    options = Options(settings=DecideSettings(mass_idle_minimum=4))
    history = read_for(policies, prometheus=PrometheusSettings(url=url), span=span,
                       options=options)
    results, outcome = replay_outcome(policies, services, history, span=span, options=options)
    return [(r.ref.name, r.stops, r.starts, round(r.gpu_hours * 60), r.cold_starts)
            for r in results], outcome


def test_idle_stops_the_breaker_holds_are_not_asked_again(backtest_prometheus: str,
                                                          inventory_file: Path,
                                                          tmp_path: Path) -> None:
    """At 00:00 four services look idle (``gappy`` is serving): the breaker blocks
    them. While it holds, a service whose window gains only quiet, complete steps is
    carried, not asked again; at 01:00 ``sparse`` serves a request, three idle
    verdicts are left, the breaker lets go and the carried ones are stopped at that
    step. The figures (stops, starts, GPU-minutes, cold starts) are those of the loop
    that asked every blocked service at every step (recorded from it: 249 asks in 66
    decisions); carrying asks 13 times in 7."""
    figures, outcome = _breaker_replay(backtest_prometheus, inventory_file,
                                       _policy(tmp_path, "idle", IDLE))
    assert figures == [("batch", 1, 0, 2760, 0), ("gappy", 1, 0, 1330, 0),
                       ("late", 2, 1, 820, 1), ("office", 2, 1, 1800, 1),
                       ("sparse", 2, 1, 1320, 1)]
    assert (outcome.asked, outcome.decisions) == (13, 7)


def _namespaced(policy: Path, namespace: str) -> str:
    path = policy.with_name(f"{namespace}-{policy.name}")
    path.write_text(policy.read_text().replace(f"matchNames: [{NS}]",
                                               f"matchNames: [{namespace}]"))
    return path.name


def test_a_carried_service_whose_data_goes_stale_is_asked(backtest_prometheus: str,
                                                          inventory_file: Path,
                                                          tmp_path: Path) -> None:
    """Four never-used services: the breaker holds all four idle stops. At 04:00
    ``stale`` is no longer scraped; at 04:02 its newest sample is over 2 minutes old
    (unknown, never idle), though Prometheus' 5-minute lookback still shows its
    series until 04:04. Asked at 04:02, it leaves three idle verdicts, the breaker lets
    go and the three are stopped: 19 h 58 m each (carried on while its series is
    still seen, they would be stopped at 04:05). ``stale`` is stopped once its window
    is complete again, 30 minutes after its data returned at 05:00: 18 h 30 m."""
    figures, _ = _breaker_replay(backtest_prometheus, inventory_file,
                                 _policy(tmp_path, "idle", IDLE), namespace=QUIET, hours=24)
    assert figures == [(f"quiet-{i}", 1, 0, 19 * 60 + 58, 0) for i in range(3)] + [
        ("stale", 1, 0, 18 * 60 + 30, 0)]
