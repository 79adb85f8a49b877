"""A whole simulated cluster in one process: store, HTTP API server, KServe simulator.

``World.start()`` is what the pytest fixture, ``reclaimer sandbox`` and the demo use::

    world = World.start(port=0, scenario={"kserve": "0.14", "inferenceServices": [...]})
    world.url            # http://127.0.0.1:PORT
    world.wait_idle()    # every event so far handled: assert after this
    world.stop()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from kubesandbox.kserve.controller import Simulator
from kubesandbox.scenario import Scenario, load_scenario, parse_scenario
from kubesandbox.seed import apply_scenario
from kubesandbox.server import ApiServer
from kubesandbox.store import Store

ScenarioInput = Scenario | Mapping[str, Any] | str | Path | None


def as_scenario(scenario: ScenarioInput) -> Scenario:
    """A Scenario from a value, a mapping, YAML text, or a path to a YAML file."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Path):
        return load_scenario(scenario)
    return parse_scenario(scenario)


class World:
    def __init__(self, store: Store, server: ApiServer, simulator: Simulator,
                 scenario: Scenario) -> None:
        self.store = store
        self.server = server
        self.simulator = simulator
        self.scenario = scenario

    @classmethod
    def start(cls, *, port: int = 0, scenario: ScenarioInput = None,
              host: str = "127.0.0.1", clock: Callable[[], datetime] | None = None) -> World:
        """``clock`` (aware UTC) dates objects, conditions and managedFields: an e2e test
        passes the shifted clock its child ``reclaimer run`` lives in."""
        parsed = as_scenario(scenario)
        store = Store(clock=clock) if clock is not None else Store()
        server = ApiServer(store, host=host, port=port)
        simulator = Simulator(store, parsed.settings)
        simulator.start()
        world = cls(store, server, simulator, parsed)
        try:
            for fault in parsed.faults:
                server.faults.add(**fault)
            apply_scenario(store, parsed)
            server.start()
            world.wait_idle(_settle_timeout(parsed))
        except BaseException:
            world.stop()
            raise
        return world

    def stop(self) -> None:
        self.server.stop()
        self.simulator.stop()
        self.store.close()

    @property
    def url(self) -> str:
        return str(self.server.url)

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def faults(self) -> Any:
        return self.server.faults

    @property
    def request_log(self) -> Any:
        return self.server.request_log

    def apply_scenario(self, scenario: ScenarioInput) -> None:
        """Add a scenario's objects; a different KServe version swaps the simulator."""
        parsed = as_scenario(scenario)
        if parsed.settings != self.simulator.settings:
            self.wait_idle()
            self.simulator.stop()
            self.simulator = Simulator(self.store, parsed.settings)
            self.simulator.start()
        self.scenario = parsed
        for fault in parsed.faults:
            self.server.faults.add(**fault)
        apply_scenario(self.store, parsed)
        self.wait_idle(_settle_timeout(parsed))

    def wait_idle(self, timeout: float = 10.0, *, terminations: bool = False) -> None:
        self.simulator.wait_idle(timeout, terminations=terminations)

    def kubeconfig(self) -> str:
        """A kubeconfig for kubectl and ``kubernetes.config`` (no auth, plain HTTP)."""
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: sandbox\n  cluster: {{server: '{self.url}'}}\n"
            "users:\n- name: sandbox\n  user: {}\n"
            "contexts:\n- name: sandbox\n  context: {cluster: sandbox, user: sandbox}\n"
            "current-context: sandbox\n")


def _settle_timeout(scenario: Scenario) -> float:
    """About 5 ms of simulator work per ISVC on the loaded 2-core host; 4x margin."""
    return 10.0 + 0.02 * len(scenario.inference_services)
