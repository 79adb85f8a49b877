"""The ledger (docs/design.md §6): every transition, holds, restore info; SQLite or PostgreSQL.

Callers use the `Ledger` protocol; `open_ledger` gives the SQL store on a database at
schema head, `MemoryLedger` the same contract in memory.
"""

from __future__ import annotations

from datetime import timedelta

from reclaimer.ledger.memory import MemoryLedger
from reclaimer.ledger.protocol import DEFAULT_EDGE_HORIZON, Ledger
from reclaimer.ledger.records import (
    RecordState,
    Report,
    ReportRow,
    StopInterval,
    TransitionRecord,
)
from reclaimer.ledger.store import SqlLedger

__all__ = [
    "DEFAULT_EDGE_HORIZON",
    "Ledger",
    "MemoryLedger",
    "RecordState",
    "Report",
    "ReportRow",
    "SqlLedger",
    "StopInterval",
    "TransitionRecord",
    "open_ledger",
]


def open_ledger(url: str, *, edge_horizon: timedelta = DEFAULT_EDGE_HORIZON) -> SqlLedger:
    """The SQL ledger at ``url``; raises `LedgerUnavailable` or `SchemaBehind`."""
    return SqlLedger.open(url, edge_horizon=edge_horizon)
