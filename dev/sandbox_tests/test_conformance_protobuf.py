"""Protobuf request bodies, as kubectl's generators send them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from kubesandbox import types
from kubesandbox.server import ApiServer
from kubesandbox.store import Store
from sandbox_tests.conftest import NS

PROTOBUF = "application/vnd.kubernetes.protobuf"


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return bytes([number << 3]) + _varint(payload)
    return bytes([number << 3 | 2]) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = b""
    while True:
        low, value = value & 0x7F, value >> 7
        out += bytes([low | (0x80 if value else 0)])
        if not value:
            return out


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw) + _field(3, b"") + _field(4, b"")


def _post(server: ApiServer, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(server.url + path, data=body, method="POST",
                                 headers={"Content-Type": PROTOBUF,
                                          "Accept": f"{PROTOBUF},application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


@pytest.mark.integration
def test_configmap_from_protobuf(server: ApiServer, store: Store) -> None:
    meta = _field(1, b"c") + _field(2, b"") + _field(7, 0) + _field(
        11, _field(1, b"app") + _field(2, b"x"))
    data = _field(2, _field(1, b"k") + _field(2, b"v"))
    code, body = _post(server, f"/api/v1/namespaces/{NS}/configmaps",
                       _envelope("v1", "ConfigMap", _field(1, meta) + data + _field(4, 1)))
    stored = store.get(types.CONFIGMAPS, NS, "c")
    assert (code, body["kind"]) == (201, "ConfigMap")
    assert (stored["metadata"]["labels"], stored["data"], stored["immutable"]) == (
        {"app": "x"}, {"k": "v"}, True)


@pytest.mark.integration
@pytest.mark.parametrize(("body", "code"), [
    pytest.param(_envelope("v1", "Pod", b""), 415, id="kind-not-mapped"),
    pytest.param(b"\x0a\x00", 400, id="no-magic"),
    pytest.param(b"k8s\x00\x0a\x80", 400, id="truncated"),
])
def test_undecodable_protobuf(server: ApiServer, body: bytes, code: int) -> None:
    got, status = _post(server, f"/api/v1/namespaces/{NS}/pods", body)
    assert (got, status["code"]) == (code, code)
