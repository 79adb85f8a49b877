"""Reading history over HTTP: what each range query asks, counted through a real proxy.

requests looks up proxies, ``NO_PROXY``, a CA bundle and ``.netrc`` in the environment
at every request; the reader resolves them once, when it is made (`fetch._session`).
Answers are compressed unless ``backtest --uncompressed`` says otherwise. Counted
through a real HTTP proxy in front of the real Prometheus of these tests.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import Grid
from reclaimer.signals.settings import PrometheusSettings
from tests.backtest.conftest import MONDAY, NS
from tests.signals.proxy import counting_proxy

pytestmark = [pytest.mark.timeout(60)]

GRID = Grid.covering(MONDAY, MONDAY + timedelta(hours=3), timedelta(minutes=1))
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                   "all_proxy")


def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_set_when_the_reader_is_made_carries_every_query(
        backtest_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every range query goes through the proxy of the environment at the reader's
    making, though the environment says otherwise by the time the queries are sent."""
    _clean(monkeypatch)
    settings = PrometheusSettings(url=backtest_prometheus, concurrency=2)
    with counting_proxy(backtest_prometheus) as (proxy, traffic):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        reader = RangeReader(settings)
        monkeypatch.setenv("NO_PROXY", "*")
        history = read_history(settings, GRID, chunk_steps=60, reader=reader)
    assert history.services
    assert reader.queries == 33  # 3 chunks x 11 raw texts
    assert traffic.queries() == 33
    assert {p.split("?")[0] for p in traffic.paths} == {"/api/v1/query_range"}


def test_no_proxy_when_the_reader_is_made_sends_nothing_through_one_set_later(
        backtest_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean(monkeypatch)
    settings = PrometheusSettings(url=backtest_prometheus, concurrency=2)
    with counting_proxy(backtest_prometheus) as (proxy, traffic):
        reader = RangeReader(settings)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        read_history(settings, GRID, chunk_steps=60, reader=reader)
    assert reader.queries == 33
    assert traffic.queries() == 0




def _cli(url: str, inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
         *extra: str) -> str:
    policy = tmp_path / "idle.yaml"
    policy.write_text("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
                      "metadata: {name: idle}\nspec:\n  selector: {matchLabels: {}}\n"
                      f"  namespaceSelector: {{matchNames: [{NS}]}}\n"
                      "  idle:\n    after: 30m\n")
    code = main(["backtest", "--policies", str(policy), "--inventory", str(inventory),
                 "--prometheus", url, "--from", "2026-11-02T00:00:00Z",
                 "--to", "2026-11-02T03:00:00Z", "-o", "json", *extra])
    assert code == 0
    return capsys.readouterr().out


def test_uncompressed_answers_are_asked_only_with_the_flag(
        backtest_prometheus: str, inventory_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every range query asks for gzip by default and for ``identity`` with
    ``--uncompressed``; the backtest's output is the same either way."""
    _clean(monkeypatch)
    outputs, encodings = [], []
    for extra in ((), ("--uncompressed",)):
        with counting_proxy(backtest_prometheus) as (proxy, traffic):
            outputs.append(_cli(proxy, inventory_file, tmp_path, capsys, *extra))
        asked = [h for p, h in zip(traffic.paths, traffic.headers, strict=True)
                 if p.startswith("/api/v1/query_range")]
        assert len(asked) == traffic.queries() > 0
        encodings.append({h.get("Accept-Encoding") for h in asked})
    assert encodings == [{"gzip, deflate"}, {"identity"}]
    assert outputs[0] == outputs[1]
