"""NOTES.txt renders for both ledgers and tells the operator what was installed.

`helm template` skips NOTES.txt and `helm install --dry-run` needs a cluster, so the test
renders a copy of the chart in which a ConfigMap template evaluates the notes with `tpl`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.chart.helm import CHART, HA_VALUES, Helm

pytestmark = pytest.mark.integration

PROBE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  notes: {{ tpl (.Files.Get "notes.tpl") . | quote }}
"""


@pytest.fixture(scope="module")
def probe_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chart = tmp_path_factory.mktemp("chart") / "reclaimer"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes.tpl")
    (chart / "templates" / "zz-notes.yaml").write_text(PROBE)
    return chart


def _notes(helm: Helm, chart: Path, values_files: list[Path]) -> str:
    rendered = helm.template(values_files=values_files, chart=chart,
                             show_only="templates/zz-notes.yaml")
    return str(rendered.one("ConfigMap", "notes")["data"]["notes"])


@pytest.mark.parametrize(
    ("values_files", "expected"),
    [
        pytest.param([], "SQLite on PVC reclaimer-data, one replica.", id="sqlite"),
        pytest.param([HA_VALUES], "PostgreSQL (URL from Secret reclaimer-db), 2 replicas; "
                     "only the holder of Lease reclaimer-leader acts.", id="postgres-ha"),
    ],
)
def test_notes_name_the_ledger(
    helm: Helm, probe_chart: Path, values_files: list[Path], expected: str
) -> None:
    assert expected in _notes(helm, probe_chart, values_files)


def test_notes_commands_use_the_real_names(helm: Helm, probe_chart: Path) -> None:
    notes = _notes(helm, probe_chart, [])
    assert "rollout status deploy/reclaimer" in notes
    assert "port-forward svc/reclaimer 8080:8080" in notes
