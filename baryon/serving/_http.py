"""How ``baryon serve`` runs uvicorn: slow clients are timed out, connections capped.

uvicorn (with httptools, from ``uvicorn[standard]``) closes idle keep-alive
connections (``timeout_keep_alive``) and answers 503 past a number of concurrent
connections (``limit_concurrency``), but it waits forever for a client that sends its
request headers or body a byte at a time ("slowloris"). :class:`TimedHttpProtocol`
adds the two missing timers to uvicorn's httptools protocol:

* **headers**: from the moment a connection opens (or a new request's first byte
  arrives on a kept-alive one) the client has ``header_timeout`` seconds to send the
  whole request line and headers;
* **body**: from the end of the headers the client has ``body_timeout`` seconds to
  send the body, plus one second for every ``body_min_rate`` bytes it has sent so far
  (the ``MinRate`` rule of Apache's mod_reqtimeout,
  https://httpd.apache.org/docs/2.4/mod/mod_reqtimeout.html), so a large upload at a
  decent rate never times out while a byte-a-second body does. Time the server itself
  spends not reading (its buffer is full, or it has not yet asked for a
  ``100-continue`` body) does not count against the client.

A client past either deadline gets ``408 Request Timeout`` (an
``application/problem+json`` body, code ``request_timeout``) when no response has
started, and the connection is closed. :func:`server_options` maps the ``BARYON_*``
settings onto uvicorn's arguments.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from baryon.core.config import Settings
from baryon.serving.errors import problem_body

__all__ = ["TimedHttpProtocol", "server_options"]


def _problem_408(detail: str) -> bytes:
    body = problem_body(408, "request_timeout", detail)  # the one problem document shape
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body timeouts.

    Parameters
    ----------
    config, server_state, app_state, _loop
        As uvicorn passes them to every HTTP protocol.
    header_timeout : float
        Seconds a client has to send a request's line and headers (> 0).
    body_timeout : float
        Seconds a client has to send a request's body, before the rate allowance (> 0).
    body_min_rate : float
        Bytes per second of body that earn one more second each (0: none; the whole
        body must arrive within ``body_timeout``).
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        body_timeout: float,
        body_min_rate: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.body_min_rate = body_min_rate
        self._timer: asyncio.TimerHandle | None = None
        self._body_deadline = 0.0

    # ----------------------------------------------------------------- timers
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay: float, callback: Any) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(max(delay, 0.0), callback)

    def _close(self, detail: str, *, answer: bool) -> None:
        self._cancel_timer()
        if self.transport.is_closing():
            return
        self.logger.warning("closing a slow client's connection: %s", detail)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            answer = answer and not cycle.response_started
            cycle.disconnected = True  # the app's receive() says http.disconnect
            cycle.message_event.set()
        if answer:
            self.transport.write(_problem_408(detail))
        self.transport.close()

    def _headers_late(self) -> None:
        self._timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined request behind a response still being sent: wait for it
            self._arm(self.header_timeout, self._headers_late)
            return
        self._close(
            f"the request headers did not arrive within {self.header_timeout:g} s",
            answer=True,
        )

    def _body_late(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is None:
            return
        if self.flow.read_paused or getattr(cycle, "waiting_for_100_continue", False):
            # the server is not reading: that time is not the client's
            self._body_deadline = self.loop.time() + self.body_timeout
            self._arm(self.body_timeout, self._body_late)
            return
        if self.loop.time() < self._body_deadline:
            self._arm(self._body_deadline - self.loop.time(), self._body_late)
            return
        self._close(
            f"the request body did not arrive within {self.body_timeout:g} s "
            f"(plus 1 s per {self.body_min_rate:g} bytes received)",
            answer=True,
        )

    # ------------------------------------------------------ uvicorn callbacks
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:
            self._arm(self.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before and not self.transport.is_closing():
            self._body_deadline = self.loop.time() + self.body_timeout
            self._arm(self.body_timeout, self._body_late)

    def on_body(self, body: bytes) -> None:
        if self.body_min_rate > 0:
            self._body_deadline += len(body) / self.body_min_rate
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_timer()
        super().on_message_complete()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn keyword arguments for the slow-client settings of ``settings``.

    ``BARYON_HEADER_TIMEOUT``, ``BARYON_BODY_TIMEOUT`` and ``BARYON_BODY_MIN_RATE``
    become :class:`TimedHttpProtocol`'s timers; ``BARYON_KEEP_ALIVE_TIMEOUT`` is
    uvicorn's ``timeout_keep_alive``; ``BARYON_MAX_CONNECTIONS`` (per server process)
    is uvicorn's ``limit_concurrency`` plus one, because uvicorn answers 503 once the
    open connections *reach* its limit (the connection asking is one of them).

    Returns
    -------
    dict
        ``http``, ``timeout_keep_alive``, ``limit_concurrency``. ``http`` is a
        :func:`functools.partial` of :class:`TimedHttpProtocol` (picklable, so that
        ``--workers N`` processes get it too).
    """
    return {
        "http": functools.partial(
            TimedHttpProtocol,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            body_min_rate=settings.body_min_rate,
        ),
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections + 1,
    }
