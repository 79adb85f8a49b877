"""Signals from Prometheus: per-ISVC requests and GPU activity, batched and fail-safe.

Public API (docs/design.md §4, §8):

- `SignalSource` (port): ``fetch(*, at, window) -> Mapping[ServiceRef, Signals]``;
- `PrometheusSignals(settings)`: the real adapter, seven queries per evaluation;
- `PrometheusSettings.from_mapping(config["prometheus"])`: the config section;
- `ScriptedSignals(scripts)`: the scripted fake for tests and the demo.

See docs/signals.md for the queries and the rules that make a service unknown.
"""

from reclaimer.signals.port import SignalSource
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.scripted import Script, ScriptedSignals, Steady
from reclaimer.signals.settings import PrometheusSettings

__all__ = ["PrometheusSettings", "PrometheusSignals", "Script", "ScriptedSignals",
           "SignalSource", "Steady"]
