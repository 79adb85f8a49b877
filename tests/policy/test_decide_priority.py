"""Which policy governs a service: highest priority, ties reported, ambiguity left alone."""

from __future__ import annotations

import pytest

from reclaimer.model import LabelSelector, NamespaceSelector, Policy, PolicyConflict, ServiceState
from tests.policy.decide_builders import office, only, run, svc, t

NOW = t("01-12 18:01")
RUNNING = ServiceState.RUNNING


@pytest.mark.parametrize(("policies", "chosen"), [
    pytest.param([office(name="a", priority=0), office(name="b", priority=5)], "team-a/b",
                 id="higher-priority-wins"),
    pytest.param([office(name="b", priority=5), office(name="a", priority=-1)], "team-a/b",
                 id="order-does-not-matter"),
    pytest.param([office(name="z"), office(name="a")], "team-a/a", id="tie-smallest-key"),
    pytest.param([office(name="a"), office(name="x", namespace="team-b")], "team-a/a",
                 id="other-namespace-cr-never-matches"),
    pytest.param([office(name="a"), office(name="s", selector=LabelSelector({"tier": "prod"}),
                                           priority=9)], "team-a/a",
                 id="non-matching-selector-ignored"),
    pytest.param([office(name="file", namespace=None,
                         namespace_selector=NamespaceSelector(("team-a",)))], "file",
                 id="file-policy-by-namespace"),
])
def test_policy_choice(policies: list[Policy], chosen: str) -> None:
    assert only(run(NOW, policies, [svc()])).policy == chosen


@pytest.mark.parametrize(("policies", "conflicts"), [
    pytest.param([office(name="z"), office(name="a")],
                 [PolicyConflict(svc().ref, ("team-a/a", "team-a/z"), "team-a/a")], id="tie"),
    pytest.param([office(name="z", priority=1), office(name="a")], [], id="no-tie"),
    pytest.param([office(name="z", priority=1), office(name="a"), office(name="b")], [],
                 id="tie-below-the-top-is-fine"),
])
def test_ties_at_the_top_are_reported(policies: list[Policy],
                                      conflicts: list[PolicyConflict]) -> None:
    assert list(run(NOW, policies, [svc()]).conflicts) == conflicts


def test_ungoverned_service_is_left_alone() -> None:
    policy = office(selector=LabelSelector({"tier": "prod"}))
    plan = run(NOW, [policy], [svc()])
    assert (plan.transitions, plan.next_wake) == ((), None)


def test_duplicate_service_names_are_left_alone_with_an_alert() -> None:
    plan = run(NOW, [office()], [svc(uid="one"), svc(uid="two")])
    assert plan.transitions == ()
    assert plan.alerts == ("team-a/llama is listed 2 times (uids differ?); left alone this tick",)
