"""Issue 13 case 6, defence in depth: a policy whose decision raises is its own fault.

Validation bounds every value, so these policies are built directly (as a bug or a
future field might produce them): the faulty one is left out of the plan and named in
``plan.faults``; every other policy's edge is still decided.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reclaimer.model import Action, BusyAtStop, IdleRule, Policy, Reason, ServiceRef, Signals
from tests.policy.decide_builders import busy, office, quiet, run, svc, t

HEALTHY = office()
LLAMA = svc("llama")
TENANT_SERVICE = replace(svc("mistral"), ref=ServiceRef("team-b", "mistral"), uid="uid-m")


NOW = t("01-12 18:00")


@pytest.mark.parametrize(("tenant", "traffic"), [
    pytest.param(office(name="tenant", namespace="team-b", busy_at_stop=BusyAtStop.DEFER,
                        max_defer=timedelta(days=3_000_000)), busy(TENANT_SERVICE, NOW),
                 id="max-defer-overflows"),
    pytest.param(Policy(name="tenant", namespace="team-b", source="test",
                        idle=IdleRule(after=timedelta(minutes=30),
                                      min_uptime=timedelta(days=3_000_000))),
                 quiet(TENANT_SERVICE, NOW), id="min-uptime-overflows"),
])
def test_case6_a_policy_whose_decide_raises_does_not_stop_another_policys_edge(
        tenant: Policy, traffic: Signals) -> None:
    plan = run(NOW, [HEALTHY, tenant], [LLAMA, TENANT_SERVICE],
               signals=[quiet(LLAMA, NOW), traffic])
    assert [(tr.ref, tr.action, tr.reason) for tr in plan.transitions] == [
        (LLAMA.ref, Action.STOP, Reason.SCHEDULE_STOP)]
    assert [(f.policy, f.message.count("\n")) for f in plan.faults] == [("team-b/tenant", 0)]
    assert plan.faults[0].message.startswith("could not be decided: OverflowError")
