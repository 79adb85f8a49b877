"""The read-only inputs of one decision, bundled so every rule sees the same ``now``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reclaimer.model import EMPTY, DecideSettings, LedgerView, ServiceRef, Signals


@dataclass(frozen=True)
class Tick:
    """``windows``: each policy's window state at ``now`` (`schedule.window_open`),
    computed once per policy, not once per service, because it scans the schedule."""

    now: datetime
    signals: Mapping[ServiceRef, Signals]
    ledger: LedgerView
    settings: DecideSettings
    windows: Mapping[str, bool | None] = field(default=EMPTY)
