"""Fixtures for the chart tests: a real helm, and renders shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.helm import HA_VALUES, HELM, Helm, Rendered, fetch_helm


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    problem = fetch_helm()
    if problem is not None:
        pytest.skip(f"CHART TESTS NOT RUN: no helm binary in .tools/ — {problem}")
    return Helm(HELM, Path(tmp_path_factory.mktemp("helm-home")))


@pytest.fixture(scope="session")
def default_render(helm: Helm) -> Rendered:
    return helm.template()


@pytest.fixture(scope="session")
def ha_render(helm: Helm) -> Rendered:
    return helm.template(values_files=[HA_VALUES])
