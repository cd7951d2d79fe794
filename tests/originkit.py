"""Loopback origin servers for connector tests: routes, a request log, counted sockets.

::

    with Origin() as origin:
        origin.route("/a", lambda req: (200, {"Content-Type": "text/plain"}, b"hi"))
        client.get(origin.url("/a"))
        assert origin.connections == 1

A route gets the :class:`Request` seen and returns ``(status, headers, body)``; a body
that is an iterable of bytes is sent chunk by chunk (``delay`` seconds apart when the
route is registered with one: a trickling server). ``connections`` counts the TCP
connections the listening socket accepted, so a test proves a refused URL never
reached the server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes | Iterable[bytes]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    body: bytes = b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    origin: Origin

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.origin.lock:
            self.origin.connections += 1
        return conn, addr


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.do_GET(method="POST", body=self.rfile.read(int(self.headers["Content-Length"] or 0)))

    def do_GET(self, method: str = "GET", body: bytes = b"") -> None:
        origin = self.server.origin
        request = Request(
            method, self.path, {k.lower(): v for k, v in self.headers.items()}, body=body
        )
        with origin.lock:
            origin.requests.append(request)
        path = self.path.split("?", 1)[0]
        route = origin.routes.get(self.path) or origin.routes.get(path)
        answer: bytes | Iterable[bytes]
        if route is None:
            status, headers, answer = 404, {"Content-Type": "text/plain"}, b"not here"
            delay = 0.0
        else:
            handler, delay = route
            status, headers, answer = handler(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if not isinstance(answer, bytes):
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in {k.lower() for k in headers}:
            self.send_header("Content-Length", str(len(answer)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if isinstance(answer, bytes):
                self.wfile.write(answer)
                return
            for chunk in answer:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
                if delay:
                    time.sleep(delay)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


class Origin:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port), as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[Callable[[Request], Answer], float]] = {}
        self.requests: list[Request] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.origin = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Callable[[Request], Answer], *, delay: float = 0.0) -> None:
        self.routes[path] = (handler, delay)

    def static(
        self, path: str, body: bytes, content_type: str = "text/plain", **headers: str
    ) -> None:
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        self.route(path, lambda _r: (200, {"Content-Type": content_type, **extra}, body))

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    def __enter__(self) -> Origin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
