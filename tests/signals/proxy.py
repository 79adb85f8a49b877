"""A tiny counting HTTP proxy: what the adapter really sends, without mocking it.

It forwards to a real Prometheus, records each request's path and headers, can add
``warnings`` to successful answers (as Thanos Query and Mimir do on partial responses)
and can serve HTTPS with a certificate made in the test (`tests.signals.certs`).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Traffic:
    paths: list[str] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def queries(self) -> int:
        return sum(1 for p in self.paths if p.startswith("/api/v1/query"))

    def rows(self) -> list[int]:
        """Result rows of each answer, in order."""
        return [len(json.loads(body)["data"]["result"]) for body in self.bodies]


@dataclass(frozen=True)
class Injection:
    """Warnings added to successful answers of queries whose text contains ``when``."""

    warnings: Sequence[str] = ()
    when: str = ""

    def apply(self, path: str, body: bytes) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("query", [""])[0]
        if not self.warnings or self.when not in query:
            return body
        answer = json.loads(body)
        if answer.get("status") != "success":
            return body
        return json.dumps({**answer, "warnings": list(self.warnings)}).encode()


# Never through a proxy of the environment: a test may point HTTP_PROXY at this one.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _handler(upstream: str, traffic: Traffic,
             inject: Injection) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._forward(None)

        def do_POST(self) -> None:
            self._forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def _forward(self, data: bytes | None) -> None:
            """To ``upstream``; a path that is a whole URL (the client took this for its
            HTTP proxy) is forwarded there."""
            whole = "://" in self.path
            traffic.paths.append("/" + self.path.split("://", 1)[1].split("/", 1)[1] if whole
                                 else self.path)
            traffic.authorization.append(self.headers.get("Authorization"))
            traffic.headers.append(dict(self.headers.items()))
            target = self.path if whole else upstream + self.path
            try:
                with _DIRECT.open(urllib.request.Request(target, data=data),
                                  timeout=30) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
            body = inject.apply(self.path, body) if status == 200 else body
            traffic.bodies.append(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads `traffic` instead."""

    return Forward


@contextmanager
def counting_proxy(upstream: str, *, inject: Injection = Injection(),
                   tls: tuple[Path, Path] | None = None) -> Iterator[tuple[str, Traffic]]:
    """``tls`` is (certificate, key): the proxy then serves https."""
    traffic = Traffic()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, traffic, inject))
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", traffic
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_port() -> Iterator[str]:
    """A port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextmanager
def trickling_server(*, every: float = 0.05) -> Iterator[str]:
    """Answers 200 at once, then sends its body one byte per ``every`` seconds, forever."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000000\r\n\r\n")
            while not stop.wait(every):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        sock.close()
        thread.join(timeout=5)
