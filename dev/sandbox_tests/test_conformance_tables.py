"""Server-side printing: Tables for ``Accept: application/json;as=Table``, as kubectl asks."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from kubesandbox import jsonpath, types
from kubesandbox.printers import human_age
from kubesandbox.server import ApiServer
from kubesandbox.store import Store
from sandbox_tests.conftest import NS, pod, reclaimpolicy_crd

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _get_table(server: ApiServer, path: str) -> dict[str, Any]:
    req = urllib.request.Request(server.url + path, headers={"Accept": TABLE})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


@pytest.mark.integration
def test_list_as_table_has_columns_and_rows(server: ApiServer, store: Store) -> None:
    store.create(types.PODS, pod("p"), namespace=NS)
    table = _get_table(server, f"/api/v1/namespaces/{NS}/pods")
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:4] == ["p", "0/1", "Pending", 0]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


@pytest.mark.integration
def test_get_as_table_has_one_row(server: ApiServer, store: Store) -> None:
    store.create(types.CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"a": "1"}},
                 namespace=NS)
    table = _get_table(server, f"/api/v1/namespaces/{NS}/configmaps/c")
    assert [r["cells"][:2] for r in table["rows"]] == [["c", 1]]


@pytest.mark.integration
def test_crd_printer_columns_are_used(server: ApiServer, store: Store) -> None:
    crd = reclaimpolicy_crd()
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"}]
    store.create(types.CRDS, crd)
    rtype = store.registry.get("reclaimer.io", "v1alpha1", "reclaimpolicies")
    store.create(rtype, {"metadata": {"name": "p"}, "spec": {"mode": "idle"}}, namespace=NS)
    table = _get_table(server, f"/apis/reclaimer.io/v1alpha1/namespaces/{NS}/reclaimpolicies")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Mode", "Age"]
    assert table["rows"][0]["cells"][:2] == ["p", "idle"]


@pytest.mark.parametrize(("seconds", "text"), [
    pytest.param(-5, "0s", id="future"),
    pytest.param(59, "59s", id="seconds"),
    pytest.param(119, "119s", id="under-two-minutes"),
    pytest.param(125, "2m5s", id="minutes-seconds"),
    pytest.param(3600, "60m", id="minutes"),
    pytest.param(4 * 3600 + 60, "4h1m", id="hours-minutes"),
    pytest.param(30 * 3600, "30h", id="hours"),
    pytest.param(3 * 86400 + 3600, "3d1h", id="days-hours"),
    pytest.param(40 * 86400, "40d", id="days"),
    pytest.param(3 * 365 * 86400, "3y", id="years"),
])
def test_human_age_matches_kubectl(seconds: int, text: str) -> None:
    assert human_age(seconds) == text


DOC = {"status": {"url": "http://m", "conditions": [
    {"type": "Ready", "status": "True"}, {"type": "Stopped", "status": "False"}],
    "traffic": [{"latestRevision": True, "percent": 100}]},
    "metadata": {"labels": {"a.b/c": "d"}}}


@pytest.mark.parametrize(("path", "found"), [
    pytest.param(".status.url", ["http://m"], id="field"),
    pytest.param(".status.conditions[1].type", ["Stopped"], id="index"),
    pytest.param(".status.conditions[?(@.type=='Ready')].status", ["True"], id="filter"),
    pytest.param('.status.conditions[?(@.type=="Stopped")].status', ["False"],
                 id="filter-double-quotes"),
    pytest.param(".status.traffic[?(@.latestRevision==true)].percent", [100],
                 id="filter-boolean"),
    pytest.param(".metadata.labels['a.b/c']", ["d"], id="quoted-key"),
    pytest.param(".status.missing", [], id="missing"),
    pytest.param("status", [], id="unparseable"),
])
def test_jsonpath_subset(path: str, found: list[Any]) -> None:
    assert jsonpath.find(DOC, path) == found


@pytest.mark.integration
def test_missing_builtin_counts_print_as_zero(server: ApiServer, store: Store) -> None:
    store.create(types.DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {"replicas": 2}},
                 namespace=NS)
    table = _get_table(server, f"/apis/apps/v1/namespaces/{NS}/deployments")
    assert table["rows"][0]["cells"][:4] == ["d", "0/2", 0, 0]
