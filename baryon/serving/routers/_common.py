"""Helpers shared by the routers: JSON bodies, idempotent writes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.metering import (
    Executor,
    StoredResponse,
    check_idempotency_key,
    find_replay,
    request_fingerprint,
    store_replay,
)
from baryon.core.jsonvalues import dumps
from baryon.serving.auth import Principal
from baryon.serving.deps import AppState

__all__ = [
    "IDEMPOTENCY_HEADER",
    "fingerprint",
    "idempotent_write",
    "json_bytes",
    "replay_response",
    "run_write",
]

#: Header set on a response replayed for a repeated ``Idempotency-Key``.
IDEMPOTENCY_HEADER = "Idempotent-Replayed"


def json_bytes(value: Any) -> bytes:
    """Return ``value`` as compact UTF-8 JSON by the one policy of
    :mod:`baryon.core.jsonvalues` (datetimes ISO 8601 UTC, Decimals as strings,
    pydantic models dumped, NaN/inf as null)."""
    return dumps(value)


def replay_response(stored: StoredResponse) -> Response:
    """Return a stored idempotent response, marked as replayed."""
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={IDEMPOTENCY_HEADER: "true"},
    )


def fingerprint(request: Request, body: BaseModel | None) -> str:
    """Identify a request for idempotency: method, path, query, canonical body."""
    canonical = b"" if body is None else body.model_dump_json().encode()
    return request_fingerprint(request.method, request.url.path, request.url.query, canonical)


def idempotent_write(
    state: AppState,
    principal: Principal,
    transaction: Callable[[], AbstractContextManager[Executor]],
    work: Callable[[Executor], bytes],
    *,
    idempotency_key: str | None,
    fingerprint: str | None,
    status_code: int,
) -> Response:
    """Run ``work`` once per ``Idempotency-Key`` in one transaction; answer its bytes.

    The one idempotent-write path of the API (:func:`run_write` and the metered
    routes' :class:`~baryon.serving.routers._metered.MeteredCall` use it). With a key
    (and the request's ``fingerprint``) the first answer is stored in the same
    transaction and a repeat gets it back without running ``work`` again (marked
    ``Idempotent-Replayed: true``); the same key with another request is a 422
    (``idempotency_key_reused``). Errors are not stored: ``work`` wrote nothing, so a
    retry runs it afresh.

    Parameters
    ----------
    transaction : callable
        Opens the transaction (``state.connection`` or ``state.transaction``).
    work : callable
        ``work(executor) -> bytes``: the JSON body, written in the transaction.
    """
    for attempt in range(2):
        try:
            with transaction() as executor:
                now = state.clock.now()
                if fingerprint is not None and idempotency_key is not None:
                    stored = find_replay(
                        executor,
                        key_id=principal.key_id,
                        idempotency_key=idempotency_key,
                        fingerprint=fingerprint,
                        now=now,
                    )
                    if stored is not None:
                        return replay_response(stored)
                payload = work(executor)
                if fingerprint is not None and idempotency_key is not None:
                    store_replay(
                        executor,
                        key_id=principal.key_id,
                        org_id=principal.org_id,
                        idempotency_key=idempotency_key,
                        fingerprint=fingerprint,
                        response=StoredResponse(status_code, payload.decode()),
                        now=now,
                    )
            return Response(payload, status_code=status_code, media_type="application/json")
        except sa_exc.IntegrityError:
            # PostgreSQL: a concurrent request stored the same Idempotency-Key first.
            if fingerprint is None or attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def run_write(
    state: AppState,
    principal: Principal,
    request: Request,
    work: Callable[[Session], Any],
    *,
    body: BaseModel | None = None,
    idempotency_key: str | None = None,
    status_code: int = 200,
) -> Response:
    """Run ``work`` in one ORM transaction and answer its result as JSON.

    With an ``Idempotency-Key`` the first response is stored in the same transaction
    and a repeat (same key, same request) gets it back without running ``work``
    again (see :func:`idempotent_write`).
    """
    fp = None
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        fp = fingerprint(request, body)

    def write(session: Executor) -> bytes:
        assert isinstance(session, Session)
        return json_bytes(work(session))

    return idempotent_write(
        state, principal, lambda: state.transaction(principal.own_scope), write,
        idempotency_key=idempotency_key, fingerprint=fp, status_code=status_code,
    )  # fmt: skip
