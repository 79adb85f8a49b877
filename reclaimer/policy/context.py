"""The read-only inputs of one decision, bundled so every rule sees the same ``now``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from reclaimer.model import DecideSettings, LedgerView, ServiceRef, Signals


@dataclass(frozen=True)
class Tick:
    now: datetime
    signals: Mapping[ServiceRef, Signals]
    ledger: LedgerView
    settings: DecideSettings
