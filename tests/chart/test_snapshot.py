"""The whole rendered chart, compared with a reviewed snapshot.

Any change to what the chart renders shows up as a diff in review. After an
intended change, refresh the snapshots with

    RECLAIMER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/chart/test_snapshot.py

and commit them with the chart change.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.chart.helm import ADMISSION_KUBE_VERSION, CHART, HA_VALUES, KUBE_VERSION, Helm

pytestmark = pytest.mark.integration

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("RECLAIMER_UPDATE_SNAPSHOTS") == "1"


@pytest.mark.parametrize(
    ("name", "values_files", "kube_version"),
    [
        pytest.param("default", [], KUBE_VERSION, id="default-sqlite"),
        pytest.param("ha", [HA_VALUES], KUBE_VERSION, id="ha-postgres"),
        pytest.param("admission", [], ADMISSION_KUBE_VERSION,
                     id="default-with-admission-policy"),
        pytest.param("watched", [CHART / "ci" / "watched-values.yaml"], ADMISSION_KUBE_VERSION,
                     id="watch-namespaces"),
    ],
)
def test_render_matches_snapshot(helm: Helm, name: str, values_files: list[Path],
                                 kube_version: str) -> None:
    rendered = helm.template(values_files=values_files, crds=True,
                             kube_version=kube_version).text
    snapshot = SNAPSHOTS / f"{name}.yaml"
    if UPDATE:
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(rendered)
    assert snapshot.exists(), f"no snapshot {snapshot}; run with RECLAIMER_UPDATE_SNAPSHOTS=1"
    expected = snapshot.read_text()
    diff = "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), rendered.splitlines(keepends=True),
        fromfile=f"snapshots/{name}.yaml", tofile="rendered", n=2))
    hint = "chart render changed (RECLAIMER_UPDATE_SNAPSHOTS=1 to accept)"
    assert rendered == expected, f"{hint}:\n{diff}"
