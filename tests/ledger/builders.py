"""Literal values for ledger tests: one place that knows how to spell a transition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LLAMA = ServiceRef("team-a", "llama")
MISTRAL = ServiceRef("team-a", "mistral")
BERT = ServiceRef("team-b", "bert")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def transition(ref: ServiceRef = LLAMA, *, action: Action = Action.STOP, hours: float = 0,
               trigger: Trigger = Trigger.SCHEDULE, reason: Reason = Reason.SCHEDULE_STOP,
               policy: str | None = "team-a/office-hours", edge: bool = True,
               gpus: int | None = 1, blocked: str | None = None,
               evidence: dict[str, Any] | None = None) -> Transition:
    instant = at(hours)
    key = f"{policy}|uid-{ref.name}|{instant.isoformat()}|{action.value}" if edge else None
    return Transition(ref=ref, uid=f"uid-{ref.name}", action=action, trigger=trigger,
                      reason=reason, policy=policy, at=instant, edge_key=key,
                      evidence=evidence or {}, blocked=blocked, gpus=gpus)
