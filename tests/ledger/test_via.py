"""`via`: where a history row came from, for the owners' audit (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reclaimer.ledger.records import RecordState, TransitionRecord, via
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger

pytestmark = pytest.mark.timeout(10)
AT = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)


def row(trigger: Trigger, actor: str, evidence: dict[str, Any] | None = None
        ) -> TransitionRecord:
    planned = Transition(ref=ServiceRef("team-a", "llama"), uid="u", action=Action.STOP,
                         trigger=trigger, reason=Reason.MANUAL, policy=None, at=AT,
                         evidence=evidence or {})
    return TransitionRecord(id=1, state=RecordState.APPLIED, transition=planned,
                            recorded_at=AT, actor=actor)


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param(row(Trigger.MANUAL, "alice", {"via": "api"}), "api", id="owners-api"),
    pytest.param(row(Trigger.MANUAL, "bob@laptop", {"via": "cli"}), "cli", id="cli"),
    pytest.param(row(Trigger.MANUAL, "bob@laptop"), "cli", id="manual-before-via"),
    pytest.param(row(Trigger.EXTERNAL, "kubectl-annotate"), "kubectl", id="kubectl"),
    pytest.param(row(Trigger.EXTERNAL, "argocd-controller"), "argocd-controller",
                 id="other-field-manager"),
    pytest.param(row(Trigger.SCHEDULE, "reclaimer-0"), "reclaimer", id="the-service"),
])
def test_via(record: TransitionRecord, expected: str) -> None:
    assert via(record) == expected
    assert record.as_json()["via"] == expected
