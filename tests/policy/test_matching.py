"""Matching through the namespace index: same pairs as testing every policy, fewer tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclaimer.model import (
    LabelRequirement,
    LabelSelector,
    NamespaceSelector,
    Policy,
    PolicyConflict,
    Service,
    ServiceRef,
)
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import NamespaceIndex, governed, match_services
from tests.policy.decide_builders import DEFAULTS, NO_LEDGER, idle_only, office, quiet, svc, t

NOW = t("01-12 22:00")


def cr(name: str, namespace: str, **changes: Any) -> Policy:
    return office(name=name, namespace=namespace, **changes)


def files(name: str, *names: str, **changes: Any) -> Policy:
    return office(name=name, namespace=None, namespace_selector=NamespaceSelector(names),
                  **changes)


def in_ns(namespace: str, name: str = "llama", **labels: str) -> Service:
    return svc(name, ref=ServiceRef(namespace, name), labels=labels or {"tier": "dev"})


PROD = LabelSelector({"tier": "prod"})
NOT_PROD = LabelSelector(match_expressions=(LabelRequirement("tier", "NotIn", ("prod",)),))


@pytest.mark.parametrize(("policies", "service", "chosen", "conflict"), [
    pytest.param([cr("own", "team-a"), cr("other", "team-b")], in_ns("team-a"), "team-a/own",
                 None, id="cr-by-its-namespace"),
    pytest.param([cr("other", "team-b")], in_ns("team-a"), None, None,
                 id="cr-of-another-namespace"),
    pytest.param([files("f", "team-b", "team-a")], in_ns("team-a"), "f", None,
                 id="file-by-namespace-selector"),
    pytest.param([files("f", "team-b")], in_ns("team-a"), None, None,
                 id="file-selector-misses"),
    pytest.param([files("everywhere")], in_ns("team-z"), "everywhere", None,
                 id="file-without-names-selects-all"),
    pytest.param([files("f", "team-a", "team-a")], in_ns("team-a"), "f", None,
                 id="name-listed-twice-is-one-candidate"),
    pytest.param([cr("prod", "team-a", selector=PROD), cr("dev", "team-a", selector=NOT_PROD)],
                 in_ns("team-a", tier="dev"), "team-a/dev", None, id="by-label-selector"),
    pytest.param([cr("prod", "team-a", selector=PROD)], in_ns("team-a", tier="dev"), None, None,
                 id="label-selector-misses"),
    pytest.param([files("low", "team-a"), cr("high", "team-a", priority=3), files("all")],
                 in_ns("team-a"), "team-a/high", None, id="several-highest-priority"),
    pytest.param([files("z", "team-a"), cr("own", "team-a"), files("b")], in_ns("team-a"), "b",
                 PolicyConflict(ServiceRef("team-a", "llama"), ("b", "team-a/own", "z"), "b"),
                 id="several-tied-smallest-key"),
])
def test_which_policy_governs(policies: list[Policy], service: Service, chosen: str | None,
                              conflict: PolicyConflict | None) -> None:
    matches, conflicts, _ = match_services(policies, [service])
    assert [m.policy.key for m in matches] == ([chosen] if chosen else [])
    assert conflicts == ([conflict] if conflict else [])


@pytest.mark.parametrize(("namespace", "expected"), [
    pytest.param("team-a", ["a1", "all", "f-ab"], id="cr-file-and-everywhere-in-given-order"),
    pytest.param("team-b", ["all", "f-ab"], id="file-and-everywhere"),
    pytest.param("team-c", ["all"], id="everywhere-only"),
])
def test_index_candidates(namespace: str, expected: list[str]) -> None:
    policies = [cr("a1", "team-a"), files("all"), files("f-ab", "team-a", "team-b")]
    index = NamespaceIndex(policies)
    assert [p.name for p in index.candidates(namespace)] == expected


def fleet(namespaces: int, per: int) -> list[Service]:
    return [in_ns(f"ns{n}", f"m{i}") for n in range(namespaces) for i in range(per)]


def one_per_namespace(namespaces: int) -> list[Policy]:
    return [files(f"p{n}", f"ns{n}") for n in range(namespaces)]


@pytest.fixture
def governs_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls = [0]
    real: Callable[[Policy, Service], bool] = Policy.governs

    def counted(policy: Policy, service: Service) -> bool:
        calls[0] += 1
        return real(policy, service)

    monkeypatch.setattr(Policy, "governs", counted)
    yield calls


@pytest.mark.parametrize("namespaces", [pytest.param(2, id="two"), pytest.param(20, id="twenty")])
def test_each_service_is_tested_against_its_namespace_policies_only(
        governs_calls: list[int], namespaces: int) -> None:
    governed(one_per_namespace(namespaces), fleet(namespaces, 3))
    assert governs_calls[0] == namespaces * 3


def test_decide_given_matches_does_not_match_again(governs_calls: list[int]) -> None:
    policies, services = one_per_namespace(4), fleet(4, 2)
    matches = governed(policies, services)
    governs_calls[0] = 0
    decide(NOW, policies, services, signals={}, ledger=NO_LEDGER, settings=DEFAULTS,
           matches=matches)
    assert governs_calls[0] == 0


@pytest.mark.parametrize("policies", [
    pytest.param([office(name="z"), office(name="a")], id="with-conflict"),
    pytest.param([idle_only(), files("all", priority=1)], id="idle-and-schedule"),
])
def test_decide_given_matches_plans_the_same(policies: list[Policy]) -> None:
    services = [svc("a"), svc("b"), svc("a", uid="dup"), in_ns("team-b", "c")]
    signals = {s.ref: quiet(s, NOW, since=timedelta(hours=3).total_seconds()) for s in services}
    plain = decide(NOW, policies, services, signals=signals, ledger=NO_LEDGER, settings=DEFAULTS)
    given = decide(NOW, policies, services, signals=signals, ledger=NO_LEDGER, settings=DEFAULTS,
                   matches=governed(policies, services))
    assert given == plain


NAMESPACES = ["team-a", "team-b", "team-c"]
SELECTORS = [LabelSelector(), PROD, NOT_PROD]


@st.composite
def generated_policies(draw: st.DrawFn) -> list[Policy]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        selector, priority = draw(st.sampled_from(SELECTORS)), draw(st.integers(0, 2))
        if draw(st.booleans()):
            out.append(cr(f"c{i}", draw(st.sampled_from(NAMESPACES)), selector=selector,
                          priority=priority))
        else:
            names = draw(st.lists(st.sampled_from(NAMESPACES), max_size=3))
            out.append(files(f"f{i}", *names, selector=selector, priority=priority))
    return out


generated_services = st.lists(st.builds(in_ns, st.sampled_from(NAMESPACES),
                                        st.sampled_from(["m0", "m1", "m2"]),
                                        tier=st.sampled_from(["dev", "prod"])), max_size=8)


def every_policy(policies: list[Policy], service: Service) -> tuple[str, ...]:
    """The reference: test the service against every policy, as before the index."""
    candidates = [p for p in policies if p.governs(service)]
    if not candidates:
        return ()
    top = max(p.priority for p in candidates)
    return tuple(sorted(p.key for p in candidates if p.priority == top))


@given(generated_policies(), generated_services)
def test_index_matches_like_testing_every_policy(policies: list[Policy],
                                                 services: list[Service]) -> None:
    matches = governed(policies, services)
    unique = [s for s in services if sum(o.ref == s.ref for o in services) == 1]
    expected = {s.ref: every_policy(policies, s) for s in unique if every_policy(policies, s)}
    assert {m.service.ref: (m.conflict.policies if m.conflict else (m.policy.key,))
            for m in matches} == expected
    assert all(m.policy.key == expected[m.service.ref][0] for m in matches)
