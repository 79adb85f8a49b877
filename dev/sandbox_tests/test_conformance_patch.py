"""Patch formats: RFC 7386 merge, RFC 6902 JSON patch, strategic merge for built-ins."""

from __future__ import annotations

from typing import Any

import pytest

from kubesandbox.patch import json_patch, merge_patch, strategic_merge
from kubesandbox.store import ApiError


@pytest.mark.parametrize(("target", "patch", "result"), [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="replace"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="add"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="null-deletes"),
    pytest.param({"a": ["b"]}, {"a": ["c"]}, {"a": ["c"]}, id="lists-replace"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}},
                 id="nested"),
    pytest.param({"a": "x"}, {"a": {"b": None}}, {"a": {}}, id="scalar-to-object"),
])
def test_merge_patch_rfc7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


@pytest.mark.parametrize(("ops", "result"), [
    pytest.param([{"op": "add", "path": "/l/1", "value": 9}], {"a": 1, "l": [1, 9, 2]},
                 id="add-inserts"),
    pytest.param([{"op": "add", "path": "/l/-", "value": 3}], {"a": 1, "l": [1, 2, 3]},
                 id="add-appends"),
    pytest.param([{"op": "replace", "path": "/a", "value": 5}], {"a": 5, "l": [1, 2]},
                 id="replace"),
    pytest.param([{"op": "move", "from": "/a", "path": "/b"}], {"b": 1, "l": [1, 2]},
                 id="move"),
    pytest.param([{"op": "copy", "from": "/l/0", "path": "/c"}], {"a": 1, "c": 1, "l": [1, 2]},
                 id="copy"),
    pytest.param([{"op": "remove", "path": "/l/0"}], {"a": 1, "l": [2]}, id="remove"),
    pytest.param([{"op": "add", "path": "/m~1n", "value": 1}], {"a": 1, "l": [1, 2], "m/n": 1},
                 id="escaped-slash"),
])
def test_json_patch_rfc6902(ops: list[dict[str, Any]], result: Any) -> None:
    assert json_patch({"a": 1, "l": [1, 2]}, ops) == result


@pytest.mark.parametrize(("ops", "code"), [
    pytest.param([{"op": "remove", "path": "/missing"}], 422, id="remove-missing"),
    pytest.param([{"op": "replace", "path": "/missing", "value": 1}], 422,
                 id="replace-missing"),
    pytest.param([{"op": "test", "path": "/a", "value": 2}], 422, id="test-fails"),
    pytest.param([{"op": "frob", "path": "/a"}], 422, id="unknown-op"),
    pytest.param([{"op": "add", "path": "/l/7", "value": 1}], 422, id="index-out-of-range"),
    pytest.param({"op": "add"}, 400, id="not-a-list"),
])
def test_json_patch_errors(ops: Any, code: int) -> None:
    with pytest.raises(ApiError) as err:
        json_patch({"a": 1, "l": [1, 2]}, ops)
    assert err.value.code == code


@pytest.mark.parametrize(("target", "patch", "result"), [
    pytest.param({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                 {"env": [{"name": "B", "value": "3"}]},
                 {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]},
                 id="env-by-name"),
    pytest.param({"ports": [{"containerPort": 80, "name": "a"}]},
                 {"ports": [{"containerPort": 81}]},
                 {"ports": [{"containerPort": 80, "name": "a"}, {"containerPort": 81}]},
                 id="container-ports-by-containerPort"),
    pytest.param({"ports": [{"port": 80, "targetPort": 8080}]},
                 {"ports": [{"port": 80, "targetPort": 9090}]},
                 {"ports": [{"port": 80, "targetPort": 9090}]}, id="service-ports-by-port"),
    pytest.param({"finalizers": ["a"]}, {"finalizers": ["b", "a"]},
                 {"finalizers": ["a", "b"]}, id="finalizers-union"),
    pytest.param({"finalizers": ["a", "b"]}, {"$deleteFromPrimitiveList/finalizers": ["a"]},
                 {"finalizers": ["b"]}, id="delete-from-primitive-list"),
    pytest.param({"spec": {"a": 1, "b": 2}}, {"spec": {"$patch": "replace", "c": 3}},
                 {"spec": {"c": 3}}, id="patch-replace"),
    pytest.param({"args": ["x", "y"]}, {"args": ["z"]}, {"args": ["z"]},
                 id="unkeyed-list-replaces"),
    pytest.param({"containers": [{"name": "a", "image": "1"}]},
                 {"$setElementOrder/containers": [{"name": "a"}],
                  "containers": [{"name": "a", "image": "2"}]},
                 {"containers": [{"name": "a", "image": "2"}]}, id="set-element-order"),
])
def test_strategic_merge(target: Any, patch: Any, result: Any) -> None:
    assert strategic_merge(target, patch) == result
