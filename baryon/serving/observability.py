"""Prometheus metrics and the request middleware (body cap, timing, last-resort errors).

Each app has its own :class:`prometheus_client.CollectorRegistry` (never the global
one), so two apps in one process (tests, a benchmark) do not share counters.

Several worker processes behind one port (``baryon serve --workers N``, N > 1) use
prometheus_client's multiprocess mode: ``baryon serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at an empty folder of its own before the workers start
(or wipes the one the operator set), each worker writes its values to memory-mapped
files there, and ``/metrics``, whichever worker answers it, sums every worker's files
(:class:`prometheus_client.multiprocess.MultiProcessCollector`). Counters and
histograms are summed, so a scrape counts the requests of all workers.

Metrics
-------
``baryon_http_requests_total{route,method,status}``
    Requests by route template (``/v1/models/{name}/predict``), not by raw path.
``baryon_http_request_duration_seconds{route,method}``
    Latency histogram.
``baryon_usage_units_total{endpoint}``
    Metered units admitted.
``baryon_predictions_total{model,variant}``
    Prediction requests answered, by champion/challenger/pinned variant.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Collection, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import check_depth
from baryon.serving.errors import problem_body

__all__ = ["MULTIPROC_ENV", "Metrics", "RequestMiddleware", "multiprocess_dir"]

#: The environment variable of prometheus_client's multiprocess mode (a folder).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess folder this process writes its metric values to, or ``None``.

    ``PROMETHEUS_MULTIPROC_DIR`` must be set before :mod:`prometheus_client` is first
    imported (it picks its value class then): ``baryon serve`` sets it before the
    worker processes start. Set after that import, it is ignored here (with a warning)
    rather than answering scrapes from files nobody writes.
    """
    path = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    if not path:
        return None
    if prometheus_values.ValueClass is prometheus_values.MutexValue:
        logger.warning(
            "%s was set after prometheus_client was imported: metrics are this process's only",
            MULTIPROC_ENV,
        )
        return None
    return path


logger = logging.getLogger("baryon.serving")

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's Prometheus collectors, in a registry of their own.

    In multiprocess mode (:func:`multiprocess_dir`) the collectors write to that folder
    and :meth:`render` sums the values of every process writing there.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess_dir = multiprocess_dir()
        self.requests = Counter(
            "baryon_http_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "baryon_http_request_duration_seconds",
            "HTTP request latency in seconds.",
            ("route", "method"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.usage_units = Counter(
            "baryon_usage_units",
            "Metered units admitted, by endpoint.",
            ("endpoint",),
            registry=self.registry,
        )
        self.predictions = Counter(
            "baryon_predictions",
            "Prediction requests answered, by model and variant.",
            ("model", "variant"),
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def render(self) -> bytes:
        """Return the Prometheus text exposition of every metric (of every worker process
        in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)
        return generate_latest(merged)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI reads this request's body as JSON: no content type, or a JSON one
    (``application/json``, ``application/*+json``), as its request handler decides."""
    for name, value in scope.get("headers", []):
        if name == b"content-type" and value.strip():
            main, _, subtype = value.split(b";", 1)[0].strip().lower().partition(b"/")
            return main == b"application" and (subtype == b"json" or subtype.endswith(b"+json"))
    return True


def _has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON ``body`` decodes to a string holding a lone surrogate (U+D800–DFFF).

    Such strings pass JSON parsing and pydantic but cannot be encoded as UTF-8, so they
    would fail later (in the prediction log, in responses). A surrogate *pair* (an
    emoji written ``\\ud83d\\ude00``) decodes to one character and is fine.
    """
    if not body or not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False  # malformed (or, not read as JSON, deep) text: the route answers it
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class RequestMiddleware:
    """Pure ASGI middleware around the whole app.

    * refuses bodies over ``max_body_bytes`` with 413 (by ``Content-Length`` and by
      counting what arrives); ``body_caps`` gives some routes a larger cap
      (``(method, path pattern, bytes)``: a model file upload), and the ``streamed``
      routes' bodies pass through unread: they stream them under their own cap
      (dataset uploads, see :mod:`baryon.serving.uploads`);
    * refuses a JSON body nested deeper than
      :data:`~baryon.core.jsonvalues.MAX_DEPTH` with 422 ``too_deep``
      (:func:`~baryon.core.jsonvalues.check_depth`, before anything parses it) and one
      holding a lone UTF-16 surrogate with 422 ``invalid_unicode``;
    * times each request into :class:`Metrics` under its route template;
    * adds the ``RateLimit-*`` headers the auth step left in the request state;
    * turns any exception that escaped every handler into a 500 problem (logged),
      so no traceback ever reaches a client.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        body_caps: Sequence[tuple[str, re.Pattern[str], int]] = (),
        streamed: Collection[tuple[str, str]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.body_caps = tuple(body_caps)
        self.streamed = frozenset(streamed)

    def _cap(self, scope: Scope) -> int:
        """The body cap of this request's route, in bytes."""
        method, path = scope.get("method", ""), scope.get("path", "")
        for cap_method, pattern, cap in self.body_caps:
            if method == cap_method and pattern.match(path):
                return max(cap, self.max_body_bytes)
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}
        request_state = scope.setdefault("state", {})

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                limit = request_state.get("rate_limit")
                if limit is not None:
                    headers = list(message.get("headers", []))
                    present = {k.lower() for k, _ in headers}
                    for name, value in limit.headers().items():
                        if name.lower().encode() not in present:
                            headers.append((name.lower().encode(), value.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            if (scope.get("method", ""), scope.get("path", "")) in self.streamed:
                await self.app(scope, receive, send_wrapper)
                return
            cap = self._cap(scope)
            body = await self._read_body(scope, receive, cap)
            if body is None:
                await self._send_problem(
                    send_wrapper, 413, "payload_too_large",
                    f"the request body exceeds {cap} bytes",
                )  # fmt: skip
                return
            if _is_json(scope):
                try:
                    check_depth(body, what="the request body")
                except InvalidInput as exc:
                    await self._send_problem(send_wrapper, 422, exc.code, exc.message)
                    return
            if _has_lone_surrogate(body):
                await self._send_problem(
                    send_wrapper, 422, "invalid_unicode",
                    "the body holds a lone UTF-16 surrogate (e.g. \\ud800), which is not text",
                )  # fmt: skip
                return
            await self.app(scope, _replay(body, receive), send_wrapper)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not state["started"]:
                await self._send_problem(
                    send_wrapper,
                    500,
                    "internal_error",
                    "the server could not complete this request",
                )
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(
                template, scope.get("method", ""), state["status"], time.perf_counter() - started
            )

    async def _read_body(self, scope: Scope, receive: Receive, cap: int) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > cap:
                        return None
                except ValueError:
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
        body = problem_body(status, code, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
