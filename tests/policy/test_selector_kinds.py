"""``spec.selector.kinds``: which KServe kinds a policy governs (docs/policies.md).

Absent means InferenceService only, so a policy written before reclaimer observed other
kinds never starts governing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.errors import PolicyInvalid
from reclaimer.model import DEFAULT_KINDS, LabelSelector, Policy, ServiceKind
from reclaimer.policy.matching import governed
from reclaimer.policy.schema import parse_policy
from tests.policy.decide_builders import office, svc
from tests.policy.test_schema import doc

LLM = ServiceKind.LLM_INFERENCE_SERVICE
GRAPH = ServiceKind.INFERENCE_GRAPH


def test_policy_without_kinds_governs_inference_services_only() -> None:
    assert parse_policy(doc(), source="p.yaml", index=1).kinds == DEFAULT_KINDS


@pytest.mark.parametrize("kinds", [
    pytest.param(["InferenceService"], id="isvc"),
    pytest.param(["LLMInferenceService"], id="llmisvc"),
    pytest.param(["InferenceGraph", "InferenceService"], id="graph-and-isvc"),
])
def test_policy_listing_kinds_parses_to_those_kinds(kinds: list[str]) -> None:
    policy = parse_policy(doc(**{"spec.selector.kinds": kinds}), source="p.yaml", index=1)
    assert policy.kinds == frozenset(ServiceKind(k) for k in kinds)


@pytest.mark.parametrize(("kinds", "field", "message"), [
    pytest.param([], "spec.selector.kinds", "", id="empty-list"),
    pytest.param(["Pod"], "spec.selector.kinds[0]", "", id="unknown-kind"),
    pytest.param(["InferenceService", "InferenceService"], "spec.selector.kinds[1]",
                 "InferenceService is listed twice", id="duplicate"),
])
def test_bad_kinds_are_refused_naming_the_field(kinds: list[Any], field: str,
                                                message: str) -> None:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(doc(**{"spec.selector.kinds": kinds}), source="p.yaml", index=1)
    assert raised.value.field == field
    assert raised.value.message.startswith(message)


@pytest.mark.parametrize(("kinds", "service_kind", "expected"), [
    pytest.param(DEFAULT_KINDS, ServiceKind.INFERENCE_SERVICE, True, id="default-isvc"),
    pytest.param(DEFAULT_KINDS, LLM, False, id="default-leaves-llmisvc-alone"),
    pytest.param(DEFAULT_KINDS, GRAPH, False, id="default-leaves-graph-alone"),
    pytest.param(frozenset({LLM}), LLM, True, id="llm-listed"),
    pytest.param(frozenset({LLM}), ServiceKind.INFERENCE_SERVICE, False,
                 id="llm-only-leaves-isvc-alone"),
])
def test_policy_governs_only_the_kinds_it_lists(kinds: frozenset[ServiceKind],
                                                service_kind: ServiceKind,
                                                expected: bool) -> None:
    policy: Policy = office(selector=LabelSelector(), kinds=kinds)
    service = svc(kind=service_kind)
    assert policy.governs(service) is expected
    assert len(governed([policy], [service])) == int(expected)
