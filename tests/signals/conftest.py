"""One real Prometheus for the whole signals area, loaded with `scenarios.world()`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reclaimer.model import ServiceRef
from reclaimer.signals.scripted import Script
from tests.fixtures.prometheus import OpenMetrics, running_prometheus
from tests.signals.scenarios import world


@pytest.fixture(scope="session")
def scenario_world() -> tuple[OpenMetrics, dict[ServiceRef, Script]]:
    return world()


@pytest.fixture(scope="session")
def scenario_prometheus(scenario_world: tuple[OpenMetrics, dict[ServiceRef, Script]],
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    om, _ = scenario_world
    workdir = tmp_path_factory.mktemp("scenario-prometheus")
    with running_prometheus(om, workdir) as url:
        yield url
