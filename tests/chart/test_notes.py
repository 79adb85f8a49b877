"""NOTES.txt renders for both ledgers and tells the operator what was installed.

`helm template` skips NOTES.txt and `helm install --dry-run` needs a cluster, so the test
renders a copy of the chart in which a ConfigMap template evaluates the notes with `tpl`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.chart.helm import ADMISSION_KUBE_VERSION, CHART, HA_VALUES, KUBE_VERSION, Helm

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


def _notes(helm: Helm, chart: Path, values_files: list[Path], *,
           set_values: tuple[str, ...] = (), kube_version: str = KUBE_VERSION) -> str:
    rendered = helm.template(values_files=values_files, chart=chart, set_values=set_values,
                             show_only="templates/zz-notes.yaml", kube_version=kube_version)
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


@pytest.mark.parametrize(
    ("set_values", "kube_version", "expected"),
    [
        pytest.param((), ADMISSION_KUBE_VERSION, "Admission policy: ValidatingAdmissionPolicy "
                     "reclaimer-least-privilege holds", id="admission policy installed"),
        pytest.param((), KUBE_VERSION, "not installed: ValidatingAdmissionPolicy v1 needs "
                     "Kubernetes >= 1.30 (this cluster: v1.29.0)", id="cluster too old"),
        pytest.param(("admissionPolicy.enabled=false",), ADMISSION_KUBE_VERSION,
                     "Admission policy: off", id="turned off"),
        pytest.param((), KUBE_VERSION, "Namespaces: all (ClusterRole reclaimer).",
                     id="every namespace"),
        pytest.param(("watchNamespaces={team-a,team-b}",), KUBE_VERSION,
                     "Namespaces: only team-a, team-b (a Role in each, no ClusterRole).",
                     id="watched namespaces"),
    ],
)
def test_notes_say_what_limits_the_service_account(
    helm: Helm, probe_chart: Path, set_values: tuple[str, ...], kube_version: str,
    expected: str
) -> None:
    assert expected in _notes(helm, probe_chart, [], set_values=set_values,
                              kube_version=kube_version)


@pytest.mark.parametrize(("values_files", "shown"), [
    pytest.param([], False, id="api-off"),
    pytest.param([CHART / "ci" / "api-values.yaml"], True, id="api-on"),
])
def test_notes_tell_owners_about_the_api_when_it_is_on(
        helm: Helm, probe_chart: Path, values_files: list[Path], shown: bool) -> None:
    notes = _notes(helm, probe_chart, values_files)
    assert ("--server https://reclaimer.example.com" in notes) is shown
