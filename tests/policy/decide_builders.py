"""Literal values for decide() tests: one office-hours week in Europe/Berlin (UTC+1).

Mon 2026-01-12 .. Fri 2026-01-16: starts at 07:00Z (08:00 local), stops at 18:00Z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reclaimer.model import (
    Action,
    BusyAtStop,
    DecideSettings,
    DeploymentMode,
    Edge,
    IdleRule,
    LedgerView,
    Plan,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    SignalState,
    Transition,
    Window,
)
from reclaimer.policy.decide import decide

OFFICE = Window(start="0 8 * * mon-fri", stop="0 19 * * mon-fri")
LONG_AGO = datetime(2025, 12, 1, tzinfo=UTC)


def t(text: str) -> datetime:
    """`t("01-12 07:00")` is 2026-01-12 07:00 UTC."""
    return datetime.fromisoformat(f"2026-{text}:00+00:00")


def office(**changes: Any) -> Policy:
    base = Policy(name="office", namespace="team-a", source="test", time_zone="Europe/Berlin",
                  schedule=(OFFICE,), busy_at_stop=BusyAtStop.FORCE)
    return replace(base, **changes)


def idle_only(**changes: Any) -> Policy:
    base = Policy(name="idle", namespace="team-a", source="test",
                  idle=IdleRule(after=timedelta(minutes=30), min_uptime=timedelta(minutes=15)))
    return replace(base, **changes)


def svc(name: str = "llama", *, state: ServiceState = ServiceState.RUNNING,
        created: datetime = LONG_AGO, **changes: Any) -> Service:
    base = Service(ref=ServiceRef("team-a", name), uid=f"uid-{name}", mode=DeploymentMode.KNATIVE,
                   state=state, created_at=created, labels={"tier": "dev"}, gpus=1)
    return replace(base, **changes)


def quiet(service: Service, now: datetime, *, since: float | None = 7200.0,
          **changes: Any) -> Signals:
    """Fully covered, fresh signals: no requests, GPU at 0 %."""
    base = Signals(ref=service.ref, at=now, window=timedelta(minutes=30), state=SignalState.KNOWN,
                   requests=0.0, seconds_since_last_request=since, gpu_utilization_max=0.0,
                   gpu_utilization_mean=0.0, gpus=1, coverage_seconds=1800.0)
    return replace(base, **changes)


def busy(service: Service, now: datetime, *, since: float = 20.0, **changes: Any) -> Signals:
    return quiet(service, now, since=since, **{"requests": 12.0, "gpu_utilization_max": 60.0,
                                               **changes})


def key(policy: Policy, service: Service, at: datetime, action: Action) -> str:
    return Edge(at=at, action=action, policy=policy.key).key_for(service.uid)


NO_LEDGER = LedgerView()
DEFAULTS = DecideSettings()


def run(now: datetime, policies: Sequence[Policy], services: Sequence[Service], *,
        signals: Sequence[Signals] = (), ledger: LedgerView = NO_LEDGER,
        settings: DecideSettings = DEFAULTS) -> Plan:
    return decide(now, policies, services, signals={s.ref: s for s in signals}, ledger=ledger,
                  settings=settings)


def only(plan: Plan) -> Transition:
    assert len(plan.transitions) == 1, plan.transitions
    return plan.transitions[0]
