"""REST verbs over the store: request parameters in, Kubernetes response bodies out.

Transport-free (no sockets here) so the HTTP layer stays thin; watch is only planned
here and streamed by ``watch.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesandbox import managed, printers, protobuf
from kubesandbox.apierror import ApiError
from kubesandbox.encoding import EncodeCache
from kubesandbox.routing import Route
from kubesandbox.scale import to_scale
from kubesandbox.store import BUILTIN_GROUPS, Store

Obj = dict[str, Any]
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = {"application/merge-patch+json": "merge",
               "application/json-patch+json": "json",
               "application/strategic-merge-patch+json": "strategic"}

# Shared by every server in the process; keys carry object uids, so stores never collide.
ENCODED = EncodeCache()
RETURNS_DELETED = frozenset({("", "pods"), ("", "services")})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")

    @property
    def dry_run(self) -> bool:
        value = self.query.get("dryRun")
        if value not in (None, "All"):
            raise ApiError(400, f"dryRun: Unsupported value: {value!r}: supported values: "
                           '"All"')
        return value == "All"

    def json(self) -> Any:
        ctype = self.headers.get("content-type", "application/json").split(";")[0].strip()
        if self.method != "PATCH" and ctype == PROTOBUF:
            return protobuf.decode(self.body)
        if self.method != "PATCH" and ctype not in ("application/json", ""):
            raise ApiError(415, f"the body of the request was in an unknown format - "
                           f"accepted media types include: application/json, {PROTOBUF} "
                           f"(got {ctype!r})")
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc

    def int_param(self, name: str) -> int | None:
        raw = self.query.get(name)
        if raw in (None, ""):
            return None
        try:
            return int(str(raw))
        except ValueError:
            raise ApiError(400, f"{name}: Invalid value: {raw!r}: must be an integer") from None


@dataclass
class Response:
    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _object_body(req: Request) -> Obj:
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _encode_continue(ns: str, name: str, rv: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([ns, name, rv]).encode()).decode()


def _decode_continue(store: Store, token: str) -> tuple[str, str]:
    """Where the next page starts; 410 Expired once the list's resourceVersion has left
    the event history, as the real server answers once etcd compacted it."""
    try:
        ns, name, rv = json.loads(base64.urlsafe_b64decode(token.encode()))
        list_rv = int(rv)
    except (ValueError, binascii.Error, TypeError):
        raise ApiError(400, "continue key is not valid") from None
    if list_rv < store.compacted_resource_version:
        raise ApiError(410, "The provided continue parameter is too old to display a "
                       "consistent list result. You can start a new list without the "
                       "continue parameter.", reason="Expired")
    return str(ns), str(name)


def with_version(route: Route, obj: Obj) -> Obj:
    """Serve a shared stored object under the requested version without mutating it."""
    if obj.get("apiVersion") == route.rtype.api_version:
        return obj
    return {**obj, "apiVersion": route.rtype.api_version}


def _decode_continue_rv(token: str) -> str:
    return str(json.loads(base64.urlsafe_b64decode(token.encode()))[2])


def do_list(store: Store, route: Route, req: Request) -> Response:
    limit = req.int_param("limit")
    token = req.query.get("continue")
    after = _decode_continue(store, token) if token else None
    items, rv = store.select(route.rtype, route.namespace,
                             label_selector=req.query.get("labelSelector"),
                             field_selector=req.query.get("fieldSelector"),
                             after=after, limit=limit or None)
    meta: Obj = {"resourceVersion": rv}
    if limit and len(items) > limit:
        items = items[:limit]
        last = items[-1]["metadata"]
        first_rv = _decode_continue_rv(token) if token else rv
        meta["continue"] = _encode_continue(last.get("namespace", ""), last["name"], first_rv)
    if printers.wants_table(req.headers.get("accept", "")):
        table = as_table(store, route, req, items, rv)
        table["metadata"].update(meta)
        return Response(200, table)
    envelope = {"kind": route.rtype.list_kind, "apiVersion": route.rtype.api_version,
                "metadata": meta}
    return Response(200, ENCODED.encode_list(envelope, [with_version(route, o) for o in items]))


def as_table(store: Store, route: Route, req: Request, items: list[Obj], rv: str, *,
             headers: bool = True) -> Obj:
    """The ``meta.k8s.io/v1`` Table kubectl asks for with ``Accept: ...;as=Table``."""
    out = printers.table(route.rtype, [with_version(route, o) for o in items],
                         now=store.clock(), resource_version=rv, headers=headers,
                         include=req.query.get("includeObject", "Metadata"))
    return out


def do_get(store: Store, route: Route, req: Request) -> Response:
    assert route.name is not None
    obj = store.get(route.rtype, route.namespace, route.name)
    if route.subresource == "scale":
        return Response(200, to_scale(obj))
    if printers.wants_table(req.headers.get("accept", "")):
        rv = obj["metadata"]["resourceVersion"]
        return Response(200, as_table(store, route, req, [obj], rv))
    return Response(200, obj)


def do_create(store: Store, route: Route, req: Request) -> Response:
    if route.name is not None:
        raise ApiError(405, "the server does not allow this method on the requested "
                       "resource (POST to a named object)")
    created = store.create(route.rtype, _object_body(req), namespace=route.namespace,
                           dry_run=req.dry_run, manager=_manager(req))
    return Response(201, created)


def do_update(store: Store, route: Route, req: Request) -> Response:
    body = _object_body(req)
    name = (body.get("metadata") or {}).get("name")
    if name != route.name:
        raise ApiError(400, f"the name of the object ({name}) does not match the name on "
                       f"the URL ({route.name})")
    return Response(200, store.replace(route.rtype, body, subresource=route.subresource,
                                       dry_run=req.dry_run, namespace=route.namespace,
                                       manager=_manager(req)))


def do_patch(store: Store, route: Route, req: Request) -> Response:
    assert route.name is not None
    ctype = req.headers.get("content-type", "").split(";")[0].strip()
    if ctype not in PATCH_TYPES:
        raise ApiError(415, f"the body of the request was in an unknown format - accepted "
                       f"media types include: {', '.join(PATCH_TYPES)} (got {ctype!r})")
    return Response(200, store.patch(route.rtype, route.namespace, route.name, req.json(),
                                     patch_type=PATCH_TYPES[ctype],
                                     subresource=route.subresource, dry_run=req.dry_run,
                                     manager=_manager(req)))


def _manager(req: Request) -> str:
    return managed.manager_of(req.query, req.headers)


def _delete_options(req: Request) -> Obj:
    body = req.json() if req.body.strip() else None
    options: Obj = body if isinstance(body, dict) else {}
    for key in ("propagationPolicy", "gracePeriodSeconds"):
        if key in req.query:
            options[key] = req.query[key]
    if options.get("orphanDependents") is True:
        options.setdefault("propagationPolicy", "Orphan")
    if options.get("dryRun") == ["All"]:
        options["dryRun"] = True
    return options


def do_delete(store: Store, route: Route, req: Request) -> Response:
    assert route.name is not None
    opts = _delete_options(req)
    grace = opts.get("gracePeriodSeconds")
    obj = store.delete(route.rtype, route.namespace, route.name,
                       propagation=str(opts.get("propagationPolicy") or "Background"),
                       grace_seconds=None if grace is None else int(grace),
                       preconditions=opts.get("preconditions"),
                       dry_run=req.dry_run or opts.get("dryRun") is True)
    return Response(200, _deleted_body(store, route, obj))


def _deleted_body(store: Store, route: Route, obj: Obj) -> Obj:
    """Still there (Terminating): the object. Gone: the object for kinds whose registry
    sets ReturnDeletedObject (pods, services, custom resources), else a Success Status."""
    meta = obj["metadata"]
    try:
        if store.get(route.rtype, route.namespace, meta["name"])["metadata"]["uid"] == \
                meta["uid"]:
            return obj
    except ApiError:
        pass
    if route.rtype.group not in BUILTIN_GROUPS or route.rtype.storage_key in RETURNS_DELETED:
        return obj
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": meta["name"], "group": route.rtype.group,
                        "kind": route.rtype.plural, "uid": meta["uid"]}}


def do_deletecollection(store: Store, route: Route, req: Request) -> Response:
    opts = _delete_options(req)
    gone = store.delete_collection(
        route.rtype, route.namespace, label_selector=req.query.get("labelSelector"),
        field_selector=req.query.get("fieldSelector"),
        propagation=str(opts.get("propagationPolicy") or "Background"),
        dry_run=req.dry_run)
    return Response(200, {"kind": route.rtype.list_kind, "apiVersion": route.rtype.api_version,
                          "metadata": {"resourceVersion": str(store.resource_version)},
                          "items": gone})


VERBS = {"list": do_list, "get": do_get, "create": do_create, "update": do_update,
         "patch": do_patch, "delete": do_delete, "deletecollection": do_deletecollection}
