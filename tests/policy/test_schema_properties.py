"""Whatever a document holds, parsing gives a Policy or a PolicyInvalid naming a field."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from reclaimer.errors import PolicyInvalid
from reclaimer.policy.schema import parse_policy
from reclaimer.policy.spec import SPEC_FIELDS

scalars = (st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False)
           | st.sampled_from(["", "30m", "0s", "dev", "In", "Exists", "Europe/Berlin",
                              "0 8 * * *", "2026-12-24", "offHours", "dryRun", "x y"])
           | st.dates())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
windows = st.lists(st.dictionaries(st.sampled_from(["start", "stop", "end"]),
                                   st.sampled_from(["0 8 * * *", "0 19 * * 1-5", "R 1 * * *",
                                                    "0 8 30 2 *", "@daily"]) | values),
                   max_size=2)
selectors = st.dictionaries(st.sampled_from(["matchLabels", "matchExpressions"]), values
                            | st.lists(st.dictionaries(st.sampled_from(["key", "operator",
                                                                        "values"]), values)))
durations = st.sampled_from(["30m", "1h30m", "0s", "2d", "30 minutes", "-1m"])
idle = st.fixed_dictionaries({"after": durations}, optional={
    "maxRequests": st.integers(-1, 5), "gpuUtilizationBelow": st.floats(-1, 101),
    "minUptime": durations, "during": st.sampled_from(["always", "offHours", "never"]),
    "aftr": durations})
plausible = {
    "timeZone": st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "CEST", "Mars/Base"]),
    "mode": st.sampled_from(["enforce", "dryRun", "dry-run"]),
    "busyAtStop": st.sampled_from(["defer", "force", "wait"]),
    "maxDefer": durations,
    "priority": st.integers(-3, 3),
    "exceptDates": st.lists(st.sampled_from(["2026-12-24", "2026-02-30"]) | st.dates()),
    "namespaceSelector": st.fixed_dictionaries({"matchNames": st.lists(
        st.sampled_from(["team-a", "Team_A"]))}),
}
crons = st.sampled_from(["0 8 * * *", "0 19 * * 1-5", "*/15 * * * *", "R 1 * * *", "@daily"])
near_valid_specs = st.fixed_dictionaries({}, optional={
    **plausible,
    "idle": idle,
    "schedule": st.lists(st.fixed_dictionaries({"start": crons, "stop": crons}), max_size=2),
    "selector": st.fixed_dictionaries({}, optional={
        "matchLabels": st.dictionaries(st.sampled_from(["tier", "-x"]), st.sampled_from(
            ["dev", "a b", ""])),
        "matchExpressions": st.lists(st.fixed_dictionaries(
            {"key": st.just("tier"), "operator": st.sampled_from(["In", "Exists", "Is"])},
            optional={"values": st.lists(st.just("dev"), max_size=1)}), max_size=2)}),
})
specs = st.fixed_dictionaries({}, optional={
    **{key: values for key in SPEC_FIELDS.properties},
    **{key: strategy | values for key, strategy in plausible.items()},
    "idle": idle | values,
    "schedule": windows | values,
    "selector": selectors | values,
})


def parse_or_name_a_field(spec: dict[str, Any], *, cluster: bool, namespace: str | None) -> None:
    metadata = {"name": "p"} if namespace is None else {"name": "p", "namespace": namespace}
    doc = {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
           "metadata": metadata, "spec": spec}
    try:
        policy = parse_policy(doc, source="f.yaml", index=1, cluster=cluster)
    except PolicyInvalid as error:
        event(f"invalid at {error.field.split('.')[0]}")
        assert error.field and error.message
        assert error.field.split(".")[0].split("[")[0] in {"spec", "metadata"}
    else:
        event("valid")
        assert policy.schedule or policy.idle is not None
        assert not policy.schedule or policy.time_zone is not None


@settings(max_examples=200, deadline=None)
@given(specs, st.booleans(), st.sampled_from([None, "team-a", "Team_A"]))
def test_arbitrary_spec_parses_or_names_a_field(
    spec: dict[str, Any], cluster: bool, namespace: str | None
) -> None:
    parse_or_name_a_field(spec, cluster=cluster, namespace=namespace)


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = draw(st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["enforce", "dryRun"]),
        "busyAtStop": st.sampled_from(["defer", "force"]),
        "maxDefer": st.sampled_from(["0s", "2h", "1h30m"]),
        "priority": st.integers(-10, 10),
        "selector": st.fixed_dictionaries({}, optional={
            "matchLabels": st.dictionaries(st.sampled_from(["tier", "app.kubernetes.io/name"]),
                                           st.sampled_from(["dev", "", "a.b-c_d"])),
            "matchExpressions": st.lists(st.sampled_from([
                {"key": "tier", "operator": "In", "values": ["dev"]},
                {"key": "tier", "operator": "NotIn", "values": ["prod", "qa"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "pinned", "operator": "DoesNotExist", "values": []}]), max_size=3)}),
    }))
    if draw(st.booleans()):
        spec["timeZone"] = draw(st.sampled_from(["Europe/Berlin", "Australia/Sydney", "UTC"]))
        spec["schedule"] = [{"start": start, "stop": stop} for start, stop in draw(st.lists(
            st.sampled_from([("0 8 * * 1-5", "0 19 * * 1-5"), ("0 */2 * * *", "30 */2 * * *")]),
            min_size=1, max_size=2))]
        spec["exceptDates"] = draw(st.lists(st.dates().map(str), max_size=2))
    if "schedule" not in spec or draw(st.booleans()):
        spec["idle"] = draw(st.fixed_dictionaries(
            {"after": st.sampled_from(["30m", "2d"])},
            optional={"maxRequests": st.integers(0, 9), "gpuUtilizationBelow": st.floats(0, 100),
                      "minUptime": st.just("0s")}))
    return spec


@settings(max_examples=200, deadline=None)
@given(near_valid_specs, st.sampled_from([None, "team-a"]))
def test_near_valid_spec_parses_or_names_a_field(
    spec: dict[str, Any], namespace: str | None
) -> None:
    parse_or_name_a_field(spec, cluster=False, namespace=namespace)


@settings(max_examples=200, deadline=None)
@given(valid_specs(), st.sampled_from([None, "team-a"]), st.booleans())
def test_valid_spec_parses_and_keeps_its_values(
    spec: dict[str, Any], namespace: str | None, cluster: bool
) -> None:
    metadata = {"name": "p"} if namespace is None else {"name": "p", "namespace": namespace}
    doc = {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
           "metadata": metadata, "spec": spec}
    policy = parse_policy(doc, source="f.yaml", index=1, cluster=cluster and bool(namespace))
    assert policy.priority == spec.get("priority", 0)
    assert len(policy.schedule) == len(spec.get("schedule", []))
    assert policy.except_dates == frozenset(spec.get("exceptDates", []))
    assert (policy.idle is None) == ("idle" not in spec)
    assert policy.key == (f"{namespace}/p" if namespace else "p")
