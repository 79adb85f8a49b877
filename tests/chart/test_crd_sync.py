"""The chart's CRD and the service's policy schema code describe one shape (issue 8).

`reclaimer.policy.spec` is the source: the CRD file is generated from it by
scripts/gen_crd.py. After a change to the schema code run

    .venv/bin/python scripts/gen_crd.py

and commit the regenerated helm/reclaimer/crds/reclaimpolicy.yaml with it.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from reclaimer.policy.spec import CR_SPEC_FIELDS, SPEC_FIELDS, crd_schema
from tests.chart.crd import CRD_FILE, FILE_ONLY_FIELDS, version_schema
from tests.chart.helm import ROOT

GENERATOR = ROOT / "scripts" / "gen_crd.py"
STALE = "helm/reclaimer/crds/reclaimpolicy.yaml is stale: run .venv/bin/python scripts/gen_crd.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_crd", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_crd_file_is_generated_from_the_schema_code() -> None:
    assert CRD_FILE.read_text() == _generator().render(), STALE


@pytest.mark.parametrize("part", [pytest.param(p, id=p) for p in ("spec", "apiVersion",
                                                                     "kind", "metadata")])
def test_crd_part_equals_the_schema_code(part: str) -> None:
    assert version_schema()["properties"][part] == crd_schema()["properties"][part], STALE


def test_required_top_level_fields_agree() -> None:
    assert version_schema()["required"] == crd_schema()["required"]


def test_crd_spec_is_the_file_spec_minus_the_file_only_fields() -> None:
    crd_fields = set(version_schema()["properties"]["spec"]["properties"])
    assert crd_fields == set(CR_SPEC_FIELDS.properties)
    assert set(SPEC_FIELDS.properties) - crd_fields == set(FILE_ONLY_FIELDS)
