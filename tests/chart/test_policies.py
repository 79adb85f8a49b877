"""The example policies in policies/ are valid ReclaimPolicy documents per the CRD.

Policy files may carry ``spec.namespaceSelector`` (operator-wide policies select
namespaces), which custom resources may not (a CR governs its own namespace). The
check therefore validates the CR-shaped part: the document minus the file-only fields,
against the CRD's schema closed to unknown fields (see tests/chart/crd.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from tests.chart.crd import FILE_ONLY_FIELDS, as_custom_resource, errors, policy_documents
from tests.chart.helm import HA_VALUES, ROOT

POLICIES = ROOT / "policies"


def _examples() -> list[Any]:
    found = [pytest.param(doc, id=name) for name, doc in policy_documents(POLICIES)]
    return found or [pytest.param(None, id="none", marks=pytest.mark.skip(
        reason="NO EXAMPLE POLICIES in policies/ yet: nothing to validate"))]


@pytest.mark.parametrize("document", _examples())
def test_example_policy_matches_the_crd_schema(document: Mapping[str, Any]) -> None:
    assert errors(as_custom_resource(document)) == []


def test_ha_values_policies_match_the_crd_schema() -> None:
    values = yaml.safe_load(HA_VALUES.read_text())
    for document in values["policies"].values():
        assert errors(as_custom_resource(document)) == []


@pytest.mark.parametrize("field", [pytest.param(f, id=f) for f in FILE_ONLY_FIELDS])
def test_file_only_fields_are_stripped_and_nothing_else(field: str) -> None:
    doc = {"kind": "ReclaimPolicy", "spec": {field: {"matchNames": ["a"]}, "mode": "dryRun"}}
    assert as_custom_resource(doc) == {"kind": "ReclaimPolicy", "spec": {"mode": "dryRun"}}
    assert field in doc["spec"]
