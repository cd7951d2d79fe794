"""Slow clients against a real ``baryon serve``: header, body and keep-alive timeouts,
and the connection cap (issue 12, kind 4). Raw sockets on loopback, a byte at a time.

The timeouts are small (1 s) so the tests are quick; each test asserts that the
server closed the connection, never how fast (a generous bound only stops a broken
server from hanging the test).
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from serverkit import free_port, start_server, stop_server, wait_ready

#: A broken server would keep the connection open forever; give up on it after this.
BOUND = 60.0


@contextmanager
def _serve(home: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = start_server(home, port, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, timeout=BOUND * 3)  # a loaded machine
        yield "127.0.0.1", port
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("slow") / "home"
    env = {
        "BARYON_HEADER_TIMEOUT": "1",
        "BARYON_BODY_TIMEOUT": "1",
        "BARYON_BODY_MIN_RATE": "1000",
        "BARYON_KEEP_ALIVE_TIMEOUT": "1",
        "BARYON_INPROCESS_WORKER": "false",
    }
    with _serve(home, env) as address:
        yield address


def _trickle(sock: socket.socket, data: bytes, interval: float = 0.1) -> tuple[bool, bytes]:
    """Send ``data`` a byte at a time, then wait; return (closed by the server, received)."""
    received = b""
    deadline = time.monotonic() + BOUND
    pending = list(data)
    while time.monotonic() < deadline:
        if pending:
            try:
                sock.send(bytes([pending.pop(0)]))
            except (BrokenPipeError, ConnectionResetError):
                return True, received
        readable, _, _ = select.select([sock], [], [], interval)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return True, received
            if not chunk:
                return True, received
            received += chunk
    return False, received


def _problem(received: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.server
def test_slow_headers_are_timed_out_408(server: tuple[str, int]) -> None:
    # a byte every 0.1 s: 2.5 s of headers that never end (slowloris)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    with socket.create_connection(server) as sock:
        closed, received = _trickle(sock, request)
    assert closed
    status, problem = _problem(received)
    assert (status, problem["code"]) == (408, "request_timeout")
    assert problem["type"] == "urn:baryon:problem:request_timeout"  # the one document shape


@pytest.mark.server
def test_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        closed, received = _trickle(sock, b"")
    assert closed
    assert received.startswith(b"HTTP/1.1 408")


@pytest.mark.server
def test_slow_body_is_timed_out_408(server: tuple[str, int]) -> None:
    head = (
        b"POST /v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n"
    )
    with socket.create_connection(server) as sock:
        sock.sendall(head)
        closed, received = _trickle(sock, b" " * 5000)
    assert closed
    status, problem = _problem(received)
    assert (status, problem["code"]) == (408, "request_timeout")


@pytest.mark.server
def test_body_faster_than_the_min_rate_is_not_cut(server: tuple[str, int]) -> None:
    # 10 chunks of 2,000 bytes 0.2 s apart: longer than the 1 s body timeout, but each
    # chunk earns 2 s at BARYON_BODY_MIN_RATE=1000, so the request is answered; the body
    # is JSON missing its last brace, which only a server that read all of it can tell
    body = json.dumps({"pad": "x" * 19_980}).encode()[:-1]
    head = (
        b"POST /v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(server) as sock:
        sock.sendall(head)
        for start in range(0, len(body), 2000):
            sock.sendall(body[start : start + 2000])
            time.sleep(0.2)
        sock.settimeout(BOUND)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status, problem = _problem(received)
    assert (status, problem["code"]) == (400, "malformed_json")


@pytest.mark.server
def test_idle_keep_alive_connection_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        closed, received = _trickle(sock, b"")
    assert received.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408" not in received  # idle after a request: closed, not answered
    assert closed


@pytest.mark.server
def test_connections_beyond_the_cap_get_503(tmp_path: Path) -> None:
    env = {"BARYON_MAX_CONNECTIONS": "2", "BARYON_HEADER_TIMEOUT": "300",
           "BARYON_INPROCESS_WORKER": "false"}  # fmt: skip
    with _serve(tmp_path / "home", env) as (host, port):
        idle = [socket.create_connection((host, port)) for _ in range(2)]
        try:
            with socket.create_connection((host, port)) as third:
                third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                third.settimeout(BOUND)
                assert third.recv(65536).startswith(b"HTTP/1.1 503")
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + BOUND
        status = b""
        while time.monotonic() < deadline and status != b"200":
            with socket.create_connection((host, port)) as again:
                again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                again.settimeout(BOUND)
                status = again.recv(65536).split(b" ", 2)[1]
        assert status == b"200"  # below the cap again once the idle ones are gone


def test_server_options_map_the_settings_and_pickle(tmp_path: Path) -> None:
    # `--workers N` sends uvicorn's config to other processes: the protocol must pickle
    import pickle

    from baryon.core.config import Settings
    from baryon.serving._http import TimedHttpProtocol, server_options

    settings = Settings(
        home=tmp_path, header_timeout=3, body_timeout=7, body_min_rate=0,
        keep_alive_timeout=2, max_connections=9,
    )  # fmt: skip
    options = pickle.loads(pickle.dumps(server_options(settings)))
    assert (options["timeout_keep_alive"], options["limit_concurrency"]) == (2, 10)
    assert options["http"].func is TimedHttpProtocol
    assert options["http"].keywords == {
        "header_timeout": 3,
        "body_timeout": 7,
        "body_min_rate": 0,
    }
