"""Frozen values shared by every part of reclaimer, one module per kind of value.

These are the contract between the pure decision core (`policy/`) and the adapters
(`kube/`, `signals/`, `ledger/`, `executor/`): adapters produce and consume only these,
so `decide()` can be tested with literal values and no I/O. Everything is importable
from ``reclaimer.model`` itself; the modules say where each value is defined.

All instants are timezone-aware UTC ``datetime`` values; local time exists only inside
`policy/schedule.py`.
"""

from __future__ import annotations

from reclaimer.model.actions import (
    Action,
    Reason,
    Trigger,
)
from reclaimer.model.empty import (
    EMPTY,
)
from reclaimer.model.ledger import (
    RECENT_IDLE,
    Hold,
    LastTransition,
    LedgerView,
)
from reclaimer.model.plan import (
    DecideSettings,
    Plan,
    PolicyConflict,
    PolicyFault,
    Transition,
)
from reclaimer.model.policy import (
    DEFAULT_MAX_SNOOZE,
    AutoIdle,
    BusyAtStop,
    Edge,
    IdleDuring,
    IdleRule,
    LabelRequirement,
    LabelSelector,
    NamespaceSelector,
    Notify,
    Policy,
    PolicyMode,
    Window,
)
from reclaimer.model.service import (
    DEFAULT_KINDS,
    KIND_SHORT_NAMES,
    DeploymentMode,
    Service,
    ServiceKind,
    ServiceRef,
    ServiceState,
)
from reclaimer.model.signals import (
    RecentActivity,
    Signals,
    SignalState,
)

__all__ = [
    "DEFAULT_KINDS",
    "DEFAULT_MAX_SNOOZE",
    "EMPTY",
    "KIND_SHORT_NAMES",
    "RECENT_IDLE",
    "Action",
    "AutoIdle",
    "BusyAtStop",
    "DecideSettings",
    "DeploymentMode",
    "Edge",
    "Hold",
    "IdleDuring",
    "IdleRule",
    "LabelRequirement",
    "LabelSelector",
    "LastTransition",
    "LedgerView",
    "NamespaceSelector",
    "Notify",
    "Plan",
    "Policy",
    "PolicyConflict",
    "PolicyFault",
    "PolicyMode",
    "Reason",
    "RecentActivity",
    "Service",
    "ServiceKind",
    "ServiceRef",
    "ServiceState",
    "SignalState",
    "Signals",
    "Transition",
    "Trigger",
    "Window",
]
