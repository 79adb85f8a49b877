"""YAML streams, files and directories, durations, and the CRD schema from the same shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reclaimer.errors import InvalidInput
from reclaimer.policy.durations import format_duration, parse_duration
from reclaimer.policy.fields import openapi
from reclaimer.policy.schema import parse_documents
from reclaimer.policy.spec import CR_SPEC_FIELDS, SPEC_FIELDS, crd_schema
from reclaimer.policy_files import load_paths, policy_files

POLICIES = Path(__file__).parents[2] / "policies"


def policy_text(name: str) -> str:
    return ("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  idle: {{after: 30m}}\n")


@pytest.mark.parametrize(("text", "names", "errors"), [
    pytest.param(policy_text("a"), ["a"], [], id="single-without-marker"),
    pytest.param("---\n" + policy_text("a"), ["a"], [], id="leading-marker"),
    pytest.param("# policies\n---\n" + policy_text("a"), ["a"], [], id="comment-before-marker"),
    pytest.param(policy_text("a") + "---\n" + policy_text("b"), ["a", "b"], [], id="two"),
    pytest.param(policy_text("a") + "---\n---\n" + policy_text("b"), ["a", "b"], [],
                 id="empty-document-is-skipped"),
    pytest.param(policy_text("a") + "---\n# only a comment\n", ["a"], [], id="comment-only"),
    pytest.param(policy_text("a") + "---\nspec: [\n---\n" + policy_text("b"), ["a", "b"],
                 [(2, "(yaml)")], id="syntax-error-does-not-hide-the-next"),
    pytest.param(policy_text("a") + "--- \n" + policy_text("a"), ["a"],
                 [(2, "metadata.name")], id="duplicate-name"),
    pytest.param("", [], [], id="empty-file"),
])
def test_documents_are_numbered_from_1_and_parsed_alone(
    text: str, names: list[str], errors: list[tuple[int, str]]
) -> None:
    policies, problems = parse_documents(text, source="s.yaml")
    assert [p.name for p in policies] == names
    assert [(e.document, e.field) for e in problems] == errors


def test_yaml_error_names_the_line_of_the_file() -> None:
    second = policy_text("b").replace("spec:\n", "spec:\n  mode: dryRun\n  mode: enforce\n")
    _, [problem] = parse_documents(policy_text("a") + "---\n" + second, source="s.yaml")
    assert (problem.document, problem.message) == (
        2, 'not valid YAML at line 12: duplicate key "mode"')


def test_directory_reads_yaml_files_in_name_order(tmp_path: Path) -> None:
    for name in ("b.yml", "a.yaml", "c.txt", "d.yaml.bak"):
        (tmp_path / name).write_text(policy_text(name.split(".")[0]))
    (tmp_path / "sub.yaml").mkdir()
    assert [p.name for p in policy_files([tmp_path])] == ["a.yaml", "b.yml"]
    policies, errors = load_paths([tmp_path, tmp_path / "a.yaml"])
    assert ([p.name for p in policies], errors) == (["a", "b"], [])


def test_undecodable_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(b"\xff\xfe\x00")
    policies, [error] = load_paths([tmp_path])
    assert (policies, error.field) == ([], "(document)")
    assert error.message.startswith("cannot read the file")


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("30m", timedelta(minutes=30), id="minutes"),
    pytest.param("1h30m", timedelta(minutes=90), id="hours-minutes"),
    pytest.param("90s", timedelta(seconds=90), id="seconds"),
    pytest.param("2h", timedelta(hours=2), id="hours"),
    pytest.param("1d", timedelta(days=1), id="days"),
    pytest.param("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4), id="all"),
    pytest.param("0s", timedelta(0), id="zero"),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", [
    pytest.param("30 minutes", id="words"), pytest.param("1.5h", id="fraction"),
    pytest.param("30M", id="upper-case"), pytest.param("30m1h", id="wrong-order"),
    pytest.param("", id="empty"), pytest.param("m", id="unit-only"),
    pytest.param("-5m", id="negative"), pytest.param("1h 30m", id="space"),
])
def test_not_durations(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"is not a duration \(e\.g\. 30m, 1h30m\)"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=366 * 86400))
def test_format_duration_parses_back(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(
        seconds=seconds)


@pytest.mark.parametrize("example", [pytest.param(p, id=p.stem)
                                     for p in sorted(POLICIES.glob("*.yaml"))])
def test_examples_fit_the_openapi_schema(example: Path) -> None:
    spec = yaml.safe_load(example.read_text())["spec"]
    jsonschema.validate(spec, openapi(SPEC_FIELDS))


def test_crd_schema_is_the_cr_shape() -> None:
    schema = crd_schema()
    spec = schema["properties"]["spec"]
    assert spec == openapi(CR_SPEC_FIELDS)
    assert set(spec["properties"]) == set(SPEC_FIELDS.properties) - {"namespaceSelector"}
    assert spec["properties"]["idle"]["required"] == ["after"]
    assert spec["properties"]["mode"]["enum"] == ["enforce", "dryRun"]


def test_crd_schema_rejects_a_wrong_type() -> None:
    spec = {"idle": {"after": "30m", "maxRequests": "none"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, openapi(CR_SPEC_FIELDS))
