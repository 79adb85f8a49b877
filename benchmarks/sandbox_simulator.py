"""How long the KServe simulator takes to bring up, stop and resume N ISVCs.

Run: ``.venv/bin/python benchmarks/sandbox_simulator.py [N]`` (default 2000). Prints
seconds and store writes per phase; no server, so this is the simulator's own cost.
"""

from __future__ import annotations

import sys
import time

from kubesandbox import types as t
from kubesandbox.kserve import Simulator
from kubesandbox.scenario import parse_scenario
from kubesandbox.seed import apply_scenario
from kubesandbox.store import Store

STOP = "serving.kserve.io/stop"


def _scenario(count: int) -> dict[str, object]:
    modes = ("Knative", "Standard")
    return {"podTerminationSeconds": 0, "inferenceServices": [
        {"namespace": f"team-{i % 10}", "name": f"model-{i}", "mode": modes[i % 2], "gpus": 1}
        for i in range(count)]}


def _phase(label: str, store: Store, sim: Simulator, action: object) -> None:
    rv, started = store.resource_version, time.perf_counter()
    if callable(action):
        action()
    sim.wait_idle(timeout=600, terminations=True)
    print(f"{label:<8} {time.perf_counter() - started:8.2f} s  "
          f"{store.resource_version - rv:8d} writes  {len(sim.errors)} errors")


def _annotate_all(store: Store, count: int, value: str | None) -> None:
    for i in range(count):
        store.patch(t.INFERENCESERVICES, f"team-{i % 10}", f"model-{i}",
                    {"metadata": {"annotations": {STOP: value}}}, patch_type="merge")


def main(count: int) -> None:
    scenario = parse_scenario(_scenario(count))
    store = Store()
    sim = Simulator(store, scenario.settings)
    sim.start()
    print(f"{count} ISVCs, half Knative, half Standard, 1 GPU each")
    _phase("create", store, sim, lambda: apply_scenario(store, scenario))
    print(f"pods     {len(store.list(t.PODS)[0]):8d}")
    _phase("stop", store, sim, lambda: _annotate_all(store, count, "true"))
    print(f"pods     {len(store.list(t.PODS)[0]):8d}")
    _phase("resume", store, sim, lambda: _annotate_all(store, count, None))
    print(f"pods     {len(store.list(t.PODS)[0]):8d}")
    sim.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
