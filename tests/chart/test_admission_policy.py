"""The chart's ValidatingAdmissionPolicy against allowed and forbidden requests.

Every case of admission_cases.yaml (the data file the controlplane tier replays against
a real kube-apiserver) is evaluated with a real CEL evaluator (cel-python) on the
policy as Helm renders it. The expressions keep to standard CEL (no Kubernetes library
functions, no optional types), which cel-python implements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import celpy  # type: ignore[import-untyped]
import pytest
import yaml

from tests.chart.admission import Policy, canonical, evaluate, request_for, wire_request
from tests.chart.helm import ADMISSION_KUBE_VERSION, KUBE_VERSION, Helm, Rendered

pytestmark = pytest.mark.integration

CASES_FILE = Path(__file__).with_name("admission_cases.yaml")
CASES: Mapping[str, Any] = yaml.safe_load(CASES_FILE.read_text())
POLICY_KINDS = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def _policies(rendered: Rendered) -> list[Mapping[str, Any]]:
    return [d for d in rendered.docs if d["kind"] in POLICY_KINDS]


@pytest.fixture(scope="module")
def policy_for(helm: Helm) -> Any:
    @cache
    def render(values: tuple[str, ...]) -> Policy:
        rendered = helm.template(set_values=values, kube_version=ADMISSION_KUBE_VERSION)
        return Policy(rendered.one("ValidatingAdmissionPolicy")["spec"])
    return render


def _user(case: Mapping[str, Any]) -> str:
    return str(CASES["someone"] if case.get("user") == "someone" else CASES["serviceAccount"])


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["id"]) for c in CASES["cases"]])
def test_admission_case(policy_for: Any, case: Mapping[str, Any]) -> None:
    policy = policy_for(tuple(case.get("values") or ()))
    stored = canonical(CASES["objects"][case["object"]])
    request = request_for(stored, verb=case["verb"], username=_user(case),
                          subresource=case.get("subresource") or "",
                          body=canonical(case.get("body")))
    verdict = evaluate(policy, request)
    assert verdict.allowed is case["allowed"], verdict.denials
    if not case["allowed"]:
        assert not any("error:" in d for d in verdict.denials), verdict.denials


def test_every_case_names_its_verdict() -> None:
    """The ids are the documentation: each says what it expects."""
    for case in CASES["cases"]:
        expected = "allowed" if case["allowed"] else "denied"
        assert case["id"].endswith(expected), case["id"]


def test_the_cases_cover_every_validation(policy_for: Any) -> None:
    """Each validation of the policy denies at least one case on its own."""
    policy = policy_for(())
    seen: set[str] = set()
    for case in CASES["cases"]:
        if case.get("values") or case["allowed"]:
            continue
        request = request_for(canonical(CASES["objects"][case["object"]]), verb=case["verb"],
                              username=_user(case), subresource=case.get("subresource") or "",
                              body=canonical(case.get("body")))
        seen.update(evaluate(policy, request).denials)
    assert {v["message"] for v in policy.spec["validations"]} <= seen


def test_service_account_in_the_match_condition_follows_the_release(helm: Helm) -> None:
    rendered = helm.template(set_values=["serviceAccount.name=gpu-reclaimer"],
                             kube_version=ADMISSION_KUBE_VERSION)
    (condition,) = rendered.one("ValidatingAdmissionPolicy")["spec"]["matchConditions"]
    assert '"system:serviceaccount:reclaimer:gpu-reclaimer"' in condition["expression"]


def test_binding_denies_through_the_policy(helm: Helm) -> None:
    rendered = helm.template(kube_version=ADMISSION_KUBE_VERSION)
    binding = rendered.one("ValidatingAdmissionPolicyBinding")
    policy = rendered.one("ValidatingAdmissionPolicy")
    assert binding["spec"] == {"policyName": policy["metadata"]["name"],
                               "validationActions": ["Deny"]}


@pytest.mark.parametrize(
    ("kube_version", "values", "rendered"),
    [
        pytest.param(ADMISSION_KUBE_VERSION, [], True, id="kubernetes 1.30: rendered"),
        pytest.param("1.33.0", [], True, id="kubernetes 1.33: rendered"),
        pytest.param(KUBE_VERSION, [], False, id="kubernetes 1.29: left out"),
        pytest.param("1.33.0", ["admissionPolicy.enabled=false"], False,
                     id="turned off by the value"),
    ],
)
def test_policy_only_where_the_api_exists(helm: Helm, kube_version: str, values: list[str],
                                          rendered: bool) -> None:
    docs = _policies(helm.template(set_values=values, kube_version=kube_version))
    assert len(docs) == (2 if rendered else 0)


# Functions of the Kubernetes CEL libraries and optional types: cel-python has none of
# them, so the policy must not use them for its tests to mean what the server does.
KUBERNETES_ONLY = re.compile(
    r"\.\?|\?\.|optional\.|\.(join|lowerAscii|upperAscii|replace|split|substring|"
    r"indexOf|lastIndexOf|trim|isSorted|sum|min|max|find|findAll|orValue|value)\(|"
    r"\b(url|quantity|ip|cidr|authorizer|isURL|isQuantity|isIP|isCIDR)\b")


def test_policy_keeps_to_standard_cel(policy_for: Any) -> None:
    policy = policy_for(())
    spec = policy.spec
    expressions = [v["expression"] for v in spec["variables"]]
    expressions += [v["expression"] for v in spec["validations"]]
    expressions += [c["expression"] for c in spec["matchConditions"]]
    assert [e for e in expressions if KUBERNETES_ONLY.search(e)] == []
    env = celpy.Environment()
    for expression in expressions:
        env.compile(policy.inline(expression))  # parses as standard CEL


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["id"]) for c in CASES["cases"]])
def test_admission_case_as_sent_on_the_wire(case: Mapping[str, Any]) -> None:
    """What a replay against kube-apiserver sends for each case names the same object
    and subresource the evaluation used."""
    stored = CASES["objects"][case["object"]]
    wire = wire_request(stored, verb=case["verb"], subresource=case.get("subresource") or "",
                        body=case.get("body"))
    meta = stored["metadata"]
    assert f"/namespaces/{meta['namespace']}/" in wire.path
    if case["verb"] != "create":
        tail = meta["name"] + (f"/{case['subresource']}" if case.get("subresource") else "")
        assert wire.path.endswith(tail)
    assert (wire.method, wire.content_type is not None) == {
        "patch": ("PATCH", True), "create": ("POST", True), "delete": ("DELETE", False)}[
        case["verb"]]
