"""The ReclaimPolicy CRD: names, columns, and a schema that matches docs/design.md §2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from reclaimer.errors import PolicyInvalid
from reclaimer.policy.schema import parse_policy
from tests.chart.crd import crd, errors, structural_problems, version_schema

GOOD_SPEC: Mapping[str, Any] = {
    "selector": {"matchLabels": {"tier": "dev"},
                 "matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]},
    "timeZone": "Europe/Berlin",
    "schedule": [{"start": "0 8 * * mon-fri", "stop": "0 19 * * mon-fri"}],
    "exceptDates": ["2026-12-24"],
    "idle": {"after": "30m", "maxRequests": 0, "gpuUtilizationBelow": 5, "minUptime": "15m",
             "during": "always"},
    "busyAtStop": "defer",
    "maxDefer": "2h",
    "mode": "enforce",
    "priority": 0,
}


def _policy(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": "p", "namespace": "team-a"}, "spec": {**GOOD_SPEC, **spec}}


def test_names_and_scope() -> None:
    spec = crd()["spec"]
    assert (crd()["metadata"]["name"], spec["group"], spec["scope"]) == (
        "reclaimpolicies.reclaimer.io", "reclaimer.io", "Namespaced")
    assert (spec["names"]["kind"], spec["names"]["plural"], spec["names"]["shortNames"]) == (
        "ReclaimPolicy", "reclaimpolicies", ["rp"])


def test_one_served_storage_version_with_status_subresource() -> None:
    (version,) = crd()["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    (version,) = crd()["spec"]["versions"]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns == {
        "Mode": ".spec.mode",
        "Next": ".status.nextTransition",
        "Services": ".status.matchedServices",
        "Valid": '.status.conditions[?(@.type=="Valid")].status',
        "Age": ".metadata.creationTimestamp",
    }


def test_spec_fields_are_design_section_2_without_namespace_selector() -> None:
    spec = version_schema()["properties"]["spec"]["properties"]
    assert set(spec) == {"selector", "timeZone", "schedule", "exceptDates", "idle",
                         "busyAtStop", "maxDefer", "mode", "priority", "notify", "maxSnooze"}
    assert set(spec["idle"]["properties"]) == {
        "after", "maxRequests", "gpuUtilizationBelow", "minUptime", "during",
        "learnFrom", "autoMin", "autoMax"}


def test_status_fields() -> None:
    status = version_schema()["properties"]["status"]["properties"]
    assert set(status) == {"conditions", "nextTransition", "matchedServices", "observedGeneration"}


def test_schema_is_structural() -> None:
    assert structural_problems(version_schema()) == []


def test_root_metadata_is_left_to_the_api_server() -> None:
    assert version_schema()["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        pytest.param({"properties": {}}, "has no type", id="no-type"),
        pytest.param({"type": "object", "properties": {}, "additionalProperties": {}},
                     "both properties and additionalProperties", id="both"),
        pytest.param({"type": "object", "additionalProperties": False},
                     "additionalProperties: false", id="closed-object"),
        pytest.param({"type": "array", "uniqueItems": True, "items": {"type": "string"}},
                     "uniqueItems", id="unique-items"),
        pytest.param({"type": "object", "properties": {"a": {"$ref": "#/x"}}}, "$ref",
                     id="ref"),
    ],
)
def test_structural_check_finds_what_the_api_server_refuses(
    node: dict[str, Any], problem: str
) -> None:
    assert any(problem in p for p in structural_problems(node))


def test_full_policy_is_valid() -> None:
    assert errors(_policy()) == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"mode": "dry-run"}, "spec.mode", id="mode-enum"),
        pytest.param({"busyAtStop": "wait"}, "spec.busyAtStop", id="busy-enum"),
        pytest.param({"idle": {"maxRequests": 1}}, "spec.idle", id="idle-needs-after"),
        pytest.param({"idle": {"after": "5m", "gpuUtilizationBelow": 150}},
                     "spec.idle.gpuUtilizationBelow", id="percent-over-100"),
        pytest.param({"idle": {"after": "5m", "maxRequests": -1}}, "spec.idle.maxRequests",
                     id="negative-requests"),
        pytest.param({"idle": {"after": "5m", "during": "nights"}}, "spec.idle.during",
                     id="during-enum"),
        pytest.param({"schedule": [{"start": "0 8 * * *"}]}, "spec.schedule.0", id="window-stop"),
        pytest.param({"priority": "high"}, "spec.priority", id="priority-int"),
        pytest.param({"schedule": []}, "spec.schedule", id="empty-schedule"),
        pytest.param({"namespaceSelector": {"matchNames": ["x"]}}, "spec",
                     id="cr-has-no-namespace-selector"),
        pytest.param({"idle": {"after": "5m", "aftr": "5m"}}, "spec.idle", id="unknown-field"),
        pytest.param({"maxDefer": "2 hours"}, "spec.maxDefer", id="duration"),
        pytest.param({"idle": {"after": "30 minutes"}}, "spec.idle.after", id="idle-duration"),
        pytest.param({"idle": {"after": "99999999999d"}}, "spec.idle.after",
                     id="case6-idle-after-overflows"),
        pytest.param({"maxDefer": "3000000d"}, "spec.maxDefer", id="case6-max-defer-overflows"),
        pytest.param({"idle": {"after": "5m", "gpuUtilizationBelow": 101}},
                     "spec.idle.gpuUtilizationBelow", id="gpu-threshold-over-100"),
        pytest.param({"selector": {"matchExpressions": [{"key": "a", "operator": "Has"}]}},
                     "spec.selector.matchExpressions.0.operator", id="selector-operator"),
    ],
)
def test_bad_spec_is_rejected_naming_the_field(spec: dict[str, Any], field: str) -> None:
    found = errors(_policy(**spec))
    assert found, "expected a schema error"
    assert any(e.startswith(f"{field}: ") for e in found), found


def test_crd_manifest_is_a_valid_kubernetes_object() -> None:
    kubernetes_validate.validate(dict(crd()), "1.29.0", strict=True)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"maxDefer": "999d"}, "spec.maxDefer", id="duration-over-366d"),
        pytest.param({"exceptDates": ["24.12.2026"]}, "spec.exceptDates[0]", id="date"),
        pytest.param({"timeZone": "Europe/Berlinn"}, "spec.timeZone", id="time-zone"),
        pytest.param({"schedule": [{"start": "0 25 * * *", "stop": "0 19 * * *"}]},
                     "spec.schedule[0].start", id="cron"),
    ],
)
def test_formats_pass_admission_and_the_service_reports_them(
    spec: dict[str, Any], field: str
) -> None:
    """The CRD accepts these (the API server stores the CR); the service's own schema
    check rejects them, naming the field, which becomes the Valid=False condition."""
    document = _policy(**spec)
    assert errors(document) == []
    with pytest.raises(PolicyInvalid) as invalid:
        parse_policy(document, source="team-a/p", index=1, cluster=True)
    assert invalid.value.field == field
