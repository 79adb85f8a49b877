"""ReclaimPolicy documents -> Policy values (docs/design.md §2); malformed ones are in bad/."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import yaml

from reclaimer.errors import PolicyInvalid
from reclaimer.model import (
    BusyAtStop,
    IdleDuring,
    IdleRule,
    LabelRequirement,
    LabelSelector,
    NamespaceSelector,
    Policy,
    PolicyMode,
    Window,
)
from reclaimer.policy.schema import parse_documents, parse_policy

DESIGN_EXAMPLE = """
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office-hours}
spec:
  selector: {matchLabels: {tier: dev}}
  namespaceSelector: {matchNames: [team-a]}
  timeZone: Europe/Berlin
  schedule:
    - {start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}
  exceptDates: ["2026-12-24", "2026-12-25"]
  idle:
    after: 30m
    maxRequests: 0
    gpuUtilizationBelow: 5
    minUptime: 15m
    during: always
  busyAtStop: defer
  maxDefer: 2h
  mode: enforce
  priority: 0
"""

MINIMAL: dict[str, Any] = {
    "apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
    "metadata": {"name": "idle"}, "spec": {"idle": {"after": "30m"}},
}


def doc(**changes: Any) -> dict[str, Any]:
    """MINIMAL with dotted-path changes, e.g. ``doc(**{"spec.mode": "dryRun"})``."""
    result = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return result


def test_design_example_parses_to_exact_policy() -> None:
    policy = parse_policy(yaml.safe_load(DESIGN_EXAMPLE), source="office-hours.yaml", index=1)
    assert policy == Policy(
        name="office-hours", namespace=None, source="office-hours.yaml",
        selector=LabelSelector(match_labels={"tier": "dev"}),
        namespace_selector=NamespaceSelector(match_names=("team-a",)),
        time_zone="Europe/Berlin",
        schedule=(Window(start="0 8 * * mon-fri", stop="0 19 * * mon-fri"),),
        except_dates=frozenset({"2026-12-24", "2026-12-25"}),
        idle=IdleRule(after=timedelta(minutes=30), max_requests=0, gpu_utilization_below=5.0,
                      min_uptime=timedelta(minutes=15), during=IdleDuring.ALWAYS),
        busy_at_stop=BusyAtStop.DEFER, max_defer=timedelta(hours=2),
        mode=PolicyMode.ENFORCE, priority=0)


def test_absent_fields_take_the_model_defaults() -> None:
    policy = parse_policy(MINIMAL, source="f.yaml", index=1)
    assert policy == Policy(name="idle", namespace=None, source="f.yaml",
                            idle=IdleRule(after=timedelta(minutes=30)))


@pytest.mark.parametrize(("changes", "attribute", "expected"), [
    pytest.param({"spec.idle.maxRequests": 3}, "idle.max_requests", 3, id="max-requests"),
    pytest.param({"spec.idle.gpuUtilizationBelow": 12.5}, "idle.gpu_utilization_below", 12.5,
                 id="gpu-float"),
    pytest.param({"spec.idle.gpuUtilizationBelow": 0}, "idle.gpu_utilization_below", 0.0,
                 id="gpu-zero"),
    pytest.param({"spec.idle.minUptime": "0s"}, "idle.min_uptime", timedelta(0),
                 id="min-uptime-zero"),
    pytest.param({"spec.idle.after": "1h30m"}, "idle.after", timedelta(minutes=90),
                 id="after-compound"),
    pytest.param({"spec.idle.after": "2d"}, "idle.after", timedelta(days=2), id="after-days"),
    pytest.param({"spec.mode": "dryRun"}, "mode", PolicyMode.DRY_RUN, id="dry-run"),
    pytest.param({"spec.busyAtStop": "force"}, "busy_at_stop", BusyAtStop.FORCE, id="force"),
    pytest.param({"spec.maxDefer": "0s"}, "max_defer", timedelta(0), id="max-defer-zero"),
    pytest.param({"spec.priority": -5}, "priority", -5, id="negative-priority"),
    pytest.param({"spec.timeZone": "Asia/Kolkata"}, "time_zone", "Asia/Kolkata",
                 id="zone-without-schedule"),
    pytest.param({"spec.selector": {}}, "selector", LabelSelector(), id="empty-selector"),
    pytest.param({"spec.selector.matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["prod"]},
        {"key": "app.kubernetes.io/part-of", "operator": "Exists"},
        {"key": "pinned", "operator": "DoesNotExist", "values": []}]},
        "selector.match_expressions",
        (LabelRequirement("tier", "NotIn", ("prod",)),
         LabelRequirement("app.kubernetes.io/part-of", "Exists"),
         LabelRequirement("pinned", "DoesNotExist")), id="expressions"),
    pytest.param({"spec.namespaceSelector": {}}, "namespace_selector", NamespaceSelector(),
                 id="namespace-selector-empty-is-all"),
])
def test_field_values(changes: dict[str, Any], attribute: str, expected: object) -> None:
    value: object = parse_policy(doc(**changes), source="f.yaml", index=1)
    for name in attribute.split("."):
        value = getattr(value, name)
    assert value == expected


@pytest.mark.parametrize(("changes", "cluster", "namespace", "key"), [
    pytest.param({}, False, None, "idle", id="file-without-namespace"),
    pytest.param({"metadata.namespace": "team-a"}, False, "team-a", "team-a/idle",
                 id="file-with-namespace-acts-like-the-cr"),
    pytest.param({"metadata.namespace": "team-a"}, True, "team-a", "team-a/idle", id="cr"),
    pytest.param({"metadata.namespace": "team-a", "metadata.uid": "u-1",
                  "metadata.resourceVersion": "7", "metadata.managedFields": [{"manager": "k"}],
                  "status": {"conditions": []}}, True, "team-a", "team-a/idle",
                 id="cr-with-server-fields"),
    pytest.param({"metadata.namespace": "team-a", "metadata.futureField": {"x": 1}}, True,
                 "team-a", "team-a/idle", id="cr-metadata-from-a-newer-server"),
])
def test_namespace_and_key(
    changes: dict[str, Any], cluster: bool, namespace: str | None, key: str
) -> None:
    policy = parse_policy(doc(**changes), source="f", index=1, cluster=cluster)
    assert (policy.namespace, policy.key) == (namespace, key)


@pytest.mark.parametrize(("changes", "field", "message"), [
    pytest.param({}, "metadata.namespace", "required on a ReclaimPolicy resource",
                 id="cr-needs-namespace"),
    pytest.param({"metadata.namespace": "a", "spec.namespaceSelector": {"matchNames": ["b"]}},
                 "spec.namespaceSelector", "not allowed on a ReclaimPolicy resource",
                 id="cr-refuses-namespace-selector"),
])
def test_cluster_only_rules(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(doc(**changes), source="ReclaimPolicy a/idle", index=0, cluster=True)
    assert (raised.value.field, raised.value.source, raised.value.document) == (
        field, "ReclaimPolicy a/idle", 0)
    assert raised.value.message.startswith(message)


def test_error_reads_like_design() -> None:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(doc(**{"spec.idle.after": "30 minutes"}), source="office-hours.yaml",
                     index=1)
    assert str(raised.value) == ('office-hours.yaml[1]: spec.idle.after: "30 minutes" is '
                                 "not a duration (e.g. 30m, 1h30m)")


def test_unquoted_yaml_dates_are_accepted() -> None:
    text = DESIGN_EXAMPLE.replace('["2026-12-24", "2026-12-25"]', "[2026-12-24, 2026-12-25]")
    [policy], errors = parse_documents(text, source="f.yaml")
    assert (errors, policy.except_dates) == ([], frozenset({"2026-12-24", "2026-12-25"}))


def test_policies_are_hashable_values() -> None:
    one, two = (parse_policy(yaml.safe_load(DESIGN_EXAMPLE), source="f", index=1)
                for _ in range(2))
    assert one == two and hash(one) == hash(two)
