"""The sandbox Kubernetes API server: standard-library HTTP over the Store.

HTTP/1.1 with keep-alive (the official client pools connections); watches stream as
chunked JSON lines. Fault injection and the request log wrap every resource request,
and a fault is applied before anything is read or written.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kubesandbox import discovery, routing
from kubesandbox.apierror import REASONS, ApiError
from kubesandbox.encoding import dumps
from kubesandbox.faults import FaultInjector, RequestLog, RequestRecord, fault_kwargs
from kubesandbox.handlers import VERBS, Request, Response
from kubesandbox.store import Store
from kubesandbox.watch import WatchStream

HEALTH = ("/healthz", "/livez", "/readyz")
ADMIN_FAULTS = "/sandbox/faults"


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: ApiServer) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.connections.discard(request)

    def drop_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class ApiServer:
    """Start with ``start()``; ``url`` is then ready for kubectl and the official client."""

    def __init__(self, store: Store, *, host: str = "127.0.0.1", port: int = 0,
                 bookmark_interval: float = 1.0, log_size: int = 10_000) -> None:
        self.store = store
        self.faults = FaultInjector()
        self.request_log = RequestLog(log_size)
        self.bookmark_interval = bookmark_interval
        self.stopping = threading.Event()
        self._http = _HttpServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._http.server_address[0])

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-api-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._http.drop_connections()
        self._http.server_close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACK
    # adds ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _request(self) -> Request:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Request(self.command, url.path, dict(parse_qsl(url.query)), headers, body)

    def _read_chunked(self) -> bytes:
        """A chunked body (``kubectl create --raw -f -`` sends one), trailers skipped."""
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _serve(self) -> None:
        req = self._request()
        api = self.server.api
        try:
            route = routing.parse(api.store.registry, req.path)
        except ApiError as exc:
            self._send(Response(exc.code, exc.status()))
            return
        if route is None:
            self._send(self._non_resource(req))
            return
        _Exchange(api, route, req, self).run()

    def _non_resource(self, req: Request) -> Response:
        if req.path == ADMIN_FAULTS:
            return self._admin_faults(req)
        if req.method != "GET":
            return Response(405, ApiError(405, f"{req.method} is not allowed on "
                                          f"{req.path}").status())
        if req.path in HEALTH:
            return Response(200, "ok")
        api = self.server.api
        doc = discovery.document(api.store.registry, req.path, f"{api.host}:{api.port}")
        if doc is None:
            err = ApiError(404, "the server could not find the requested resource")
            return Response(404, err.status())
        return Response(200, doc)

    def _admin_faults(self, req: Request) -> Response:
        """Fault injection for tools outside the process: GET lists, POST adds one
        (the scenario's ``faults`` entry shape), DELETE clears all."""
        faults = self.server.api.faults
        if req.method == "GET":
            return Response(200, {"faults": faults.listed()})
        if req.method == "DELETE":
            faults.clear()
            return Response(200, {"faults": []})
        if req.method != "POST":
            return Response(405, ApiError(405, f"{req.method} is not allowed on "
                                          f"{req.path}").status())
        try:
            added = faults.add(**fault_kwargs(json.loads(req.body or b"null"), "fault"))
        except ValueError as exc:
            return Response(400, ApiError(400, str(exc)).status())
        return Response(201, asdict(added))

    def _send(self, resp: Response) -> None:
        payload = (resp.body if isinstance(resp.body, bytes) else resp.body.encode()
                   if isinstance(resp.body, str) else dumps(resp.body))
        ctype = "text/plain" if isinstance(resp.body, str) else "application/json"
        self.send_response(resp.code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def client_gone(self) -> bool:
        """True once the client has closed its end (readable, and reads as EOF)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except OSError:
            return True

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Exchange:
    """One resource request: fault, verb, log."""

    def __init__(self, api: ApiServer, route: routing.Route, req: Request,
                 handler: _Handler) -> None:
        self.api, self.route, self.req, self.handler = api, route, req, handler

    def run(self) -> None:
        """Logs before answering, so a client that has its answer finds it logged."""
        verb = self.req.method.lower()
        try:
            verb = routing.verb_of(self.req.method, self.route,
                                   watch=self.req.flag("watch"))
            self._fault(verb)
            if verb == "watch":
                self._watch(verb)
                return
            resp = VERBS[verb](self.api.store, self.route, self.req)
        except ApiError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
            resp = Response(exc.code, exc.status(), headers)
        except Exception as exc:  # a bug in the sandbox must still answer as a Status
            resp = Response(500, ApiError(500, f"sandbox internal error: {exc!r}").status())
        self._log(verb, resp.code)
        self.handler._send(resp)

    def _fault(self, verb: str) -> None:
        fault = self.api.faults.take(verb, self.route.rtype.plural, self.route.namespace,
                                     self.route.name)
        if fault is None:
            return
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is not None:
            reason = REASONS.get(fault.status, "InternalError")
            raise ApiError(fault.status, fault.message or f"injected fault: {reason}",
                           reason=reason, retry_after=fault.retry_after)

    def _watch(self, verb: str) -> None:
        stream = WatchStream(self.api.store, self.route, self.req, stop=self.api.stopping,
                             bookmark_interval=self.api.bookmark_interval)
        stream.open()
        self._log(verb, 200)
        handler = self.handler
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            stream.run(handler.send_chunk, client_gone=handler.client_gone)
            handler.send_chunk(b"")
        except OSError:
            handler.close_connection = True
        finally:
            stream.close()

    def _log(self, verb: str, code: int) -> None:
        rtype = self.route.rtype
        self.api.request_log.append(RequestRecord(
            verb, rtype.group, rtype.version, rtype.plural, self.route.subresource,
            self.route.namespace, self.route.name, code, self.req.method, self.req.path))
