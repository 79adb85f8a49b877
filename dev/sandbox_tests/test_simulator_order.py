"""The order in which a stop deletes children, read from the store's event stream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubesandbox import types as t
from kubesandbox.kserve import Simulator
from kubesandbox.scenario import Scenario, parse_scenario
from kubesandbox.seed import apply_scenario
from kubesandbox.store import Store

CHILD_PLURALS = {"services", "virtualservices", "deployments", "horizontalpodautoscalers"}


@pytest.fixture
def running() -> Iterator[tuple[Store, Simulator]]:
    store = Store()
    sim = Simulator(store, Scenario().settings)
    sim.start()
    yield store, sim
    sim.stop()


def _start(store: Store, sim: Simulator, mode: str) -> None:
    scenario = parse_scenario({"inferenceServices": [
        {"namespace": "team-a", "name": "llama", "mode": mode, "transformer": True}]})
    apply_scenario(store, scenario)
    sim.wait_idle()


@pytest.mark.parametrize(("mode", "expected"), [
    pytest.param("Knative", ["services.serving.knative.dev/llama-predictor",
                             "services.serving.knative.dev/llama-transformer",
                             "virtualservices.networking.istio.io/llama", "services/llama"],
                 id="knative"),
    pytest.param("Standard", ["deployments.apps/llama-predictor", "services/llama-predictor",
                              "horizontalpodautoscalers.autoscaling/llama-predictor",
                              "deployments.apps/llama-transformer",
                              "services/llama-transformer",
                              "horizontalpodautoscalers.autoscaling/llama-transformer"],
                 id="standard"),
])
def test_stop_deletes_children_in_kserves_order(running: tuple[Store, Simulator], mode: str,
                                                expected: list[str]) -> None:
    store, sim = running
    _start(store, sim, mode)
    sub = store.subscribe()
    store.patch(t.INFERENCESERVICES, "team-a", "llama",
                {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}},
                patch_type="merge")
    sim.wait_idle()
    deleted = []
    while (event := sub.get(0)) is not None:
        name = event.object["metadata"]["name"]
        if event.type == "DELETED" and event.rtype.plural in CHILD_PLURALS \
                and "-deployment" not in name:
            group = f".{event.rtype.group}" if event.rtype.group else ""
            deleted.append(f"{event.rtype.plural}{group}/{name}")
    sub.close()
    assert deleted == expected


def test_wait_idle_covers_the_simulators_own_writes(running: tuple[Store, Simulator]) -> None:
    store, sim = running
    _start(store, sim, "Knative")
    assert len(store.list(t.PODS, "team-a")[0]) == 2


def test_a_settled_world_makes_no_further_writes(running: tuple[Store, Simulator]) -> None:
    store, sim = running
    _start(store, sim, "Standard")
    before = store.resource_version
    sim.wait_idle()
    assert (store.resource_version, sim.errors) == (before, [])
