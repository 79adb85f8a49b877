"""Decoding the protobuf bodies kubectl's generators send, for the kinds they create.

``kubectl create namespace|configmap|secret|deployment|service`` encode the object as
Kubernetes protobuf: the magic ``k8s\\x00`` then a ``runtime.Unknown`` envelope
(k8s.io/apimachinery/pkg/runtime/generated.proto) whose ``raw`` field holds the object
in the wire format of k8s.io/api's generated.proto. Only the fields those commands set
are mapped (field numbers from those .proto files); anything else is skipped. Zero
values of non-pointer Go fields are dropped, as JSON's omitempty would.
"""

from __future__ import annotations

import base64
from typing import Any

from kubesandbox.apierror import ApiError

Obj = dict[str, Any]
Schema = dict[int, tuple[str, Any]]
MAGIC = b"k8s\x00"

OWNER: Schema = {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                 5: ("apiVersion", "s"), 6: ("controller", "bool*"),
                 7: ("blockOwnerDeletion", "bool*")}
META: Schema = {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"),
                6: ("resourceVersion", "s"), 11: ("labels", "ms"), 12: ("annotations", "ms"),
                13: ("ownerReferences", ("l", OWNER)), 14: ("finalizers", "ss")}
SELECTOR: Schema = {1: ("matchLabels", "ms")}
CONTAINER_PORT: Schema = {1: ("name", "s"), 3: ("containerPort", "i"), 4: ("protocol", "s")}
ENV: Schema = {1: ("name", "s"), 2: ("value", "s")}
RESOURCES: Schema = {1: ("limits", "qty"), 2: ("requests", "qty")}
CONTAINER: Schema = {1: ("name", "s"), 2: ("image", "s"), 3: ("command", "ss"),
                     4: ("args", "ss"), 6: ("ports", ("l", CONTAINER_PORT)),
                     7: ("env", ("l", ENV)), 8: ("resources", ("m", RESOURCES))}
POD_SPEC: Schema = {2: ("containers", ("l", CONTAINER)), 3: ("restartPolicy", "s")}
TEMPLATE: Schema = {1: ("metadata", ("m", META)), 2: ("spec", ("m", POD_SPEC))}
DEPLOYMENT_SPEC: Schema = {1: ("replicas", "i*"), 2: ("selector", ("m", SELECTOR)),
                           3: ("template", ("m", TEMPLATE))}
SERVICE_PORT: Schema = {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i"),
                        4: ("targetPort", "ios"), 5: ("nodePort", "i")}
SERVICE_SPEC: Schema = {1: ("ports", ("l", SERVICE_PORT)), 2: ("selector", "ms"),
                        3: ("clusterIP", "s"), 4: ("type", "s")}
KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): {1: ("metadata", ("m", META)),
                          2: ("spec", ("m", {1: ("finalizers", "ss")}))},
    ("v1", "ConfigMap"): {1: ("metadata", ("m", META)), 2: ("data", "ms"),
                          3: ("binaryData", "mb"), 4: ("immutable", "bool*")},
    ("v1", "Secret"): {1: ("metadata", ("m", META)), 2: ("data", "mb"), 3: ("type", "s"),
                       4: ("stringData", "ms"), 5: ("immutable", "bool*")},
    ("v1", "Service"): {1: ("metadata", ("m", META)), 2: ("spec", ("m", SERVICE_SPEC))},
    ("apps/v1", "Deployment"): {1: ("metadata", ("m", META)),
                                2: ("spec", ("m", DEPLOYMENT_SPEC))},
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ApiError(400, "truncated protobuf body")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, varint or length-delimited bytes), in wire order."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, data[pos:pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ApiError(400, f"unsupported protobuf wire type {wire}")
    return out


def _map_entry(raw: bytes) -> tuple[str, bytes]:
    parts = dict(fields(raw))
    key, value = parts.get(1, b""), parts.get(2, b"")
    return bytes(key).decode() if isinstance(key, bytes) else "", \
        value if isinstance(value, bytes) else b""


def _quantity(raw: bytes) -> str:
    return bytes(dict(fields(raw)).get(1, b"")).decode()


def _int_or_string(raw: bytes) -> int | str:
    parts = dict(fields(raw))
    if parts.get(1, 0) == 1:
        return bytes(parts.get(3, b"")).decode()
    value = parts.get(2, 0)
    return value if isinstance(value, int) else 0


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind in ("s", "b64"):
        text = bytes(value) if isinstance(value, bytes) else b""
        return text.decode() if kind == "s" else base64.b64encode(text).decode()
    if kind in ("i", "i*"):
        return value if isinstance(value, int) else 0
    if kind in ("bool", "bool*"):
        return bool(value)
    if kind == "ios":
        return _int_or_string(bytes(value) if isinstance(value, bytes) else b"")
    raise ApiError(400, f"unsupported protobuf field kind {kind!r}")


def _add(out: Obj, name: str, kind: Any, value: int | bytes) -> None:
    raw = value if isinstance(value, bytes) else b""
    if kind in ("ms", "mb", "qty"):
        key, item = _map_entry(raw)
        out.setdefault(name, {})[key] = (item.decode() if kind == "ms" else
                                         base64.b64encode(item).decode() if kind == "mb"
                                         else _quantity(item))
    elif kind == "ss":
        out.setdefault(name, []).append(raw.decode())
    elif isinstance(kind, tuple) and kind[0] == "l":
        out.setdefault(name, []).append(decode_message(raw, kind[1]))
    elif isinstance(kind, tuple):
        out[name] = decode_message(raw, kind[1])
    else:
        out[name] = _scalar(kind, value)


def _empty(kind: Any, value: Any) -> bool:
    return value in ("", {}, []) or (kind in ("i", "bool") and not value)


def decode_message(data: bytes, schema: Schema) -> Obj:
    out: Obj = {}
    for number, value in fields(data):
        if number in schema:
            name, kind = schema[number]
            _add(out, name, kind, value)
    return {k: v for k, v in out.items()
            if not _empty(next(kd for n, kd in schema.values() if n == k), v)}


def decode(body: bytes) -> Obj:
    """The JSON form of a protobuf-encoded object; 415 for kinds this module lacks."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "protobuf body without the k8s magic prefix")
    envelope = dict(fields(body[len(MAGIC):]))
    type_meta = dict(fields(bytes(envelope.get(1, b""))))
    api_version = bytes(type_meta.get(1, b"")).decode()
    kind = bytes(type_meta.get(2, b"")).decode()
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise ApiError(415, f"the sandbox decodes protobuf only for "
                       f"{', '.join(k for _, k in KINDS)}, not {api_version} {kind}; "
                       "use `kubectl create -f` or `kubectl apply -f`, which send JSON")
    obj = decode_message(bytes(envelope.get(2, b"")), schema)
    return {"apiVersion": api_version, "kind": kind, **obj}
