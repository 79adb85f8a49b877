"""The KServe/Knative simulator: controllers that act on the sandbox store.

Behaviour per version and deployment mode follows ``reference/kserve_stop.md``; see
``kserve_controller`` for what is and is not simulated.
"""

from kubesandbox.kserve.controller import Simulator, SimulatorIdleTimeout
from kubesandbox.kserve.settings import SimulatorSettings

__all__ = ["Simulator", "SimulatorIdleTimeout", "SimulatorSettings"]
