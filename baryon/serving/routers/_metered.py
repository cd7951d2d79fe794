"""The one commit path of every metered route: quota, usage record, prediction log and
idempotent replay in one transaction.

The predict route and the solution routes (support answer, sentiment analyze and
items, recommendations) all go through :class:`MeteredCall`, so they keep the same
rules (:data:`baryon.commerce.plans.METERED_ROUTES` lists them):

* **Units count the work done**: a request costs one unit per input it scores times
  the plan's weight for the route (:meth:`~baryon.commerce.plans.Plan.units_for`). The
  quota reservation takes them all or refuses the request whole (429
  ``quota_exceeded``), and then nothing is written. ``usage.units`` in the response
  is what was charged.
* **Usage is keyed by the route template** (``/v1/models/{name}/predict``), never by the
  raw path, so a path parameter does not make every call an endpoint of its own.
* **A model that cannot answer** (no champion, bad inputs for it, a failure) writes one
  usage record of 0 units with the error's HTTP status, takes no quota, and the error
  is the answer.
* **Idempotent replay**: with an ``Idempotency-Key`` the first answer is stored in the
  same transaction (:func:`~baryon.serving.routers._common.idempotent_write`, the API's
  one idempotent-write path); a repeat gets it back (``Idempotent-Replayed: true``) and
  is metered once, also when it races the first (SQLite serialises the two
  transactions; on PostgreSQL the second one's insert of the key fails, and it is
  retried once and finds the stored answer). A repeat whose model now fails still
  gets the first answer.
* **Latency** is the time from the start of the call (the handler's first line) to the
  start of its transaction, for answers and failures alike.
* **Flags** of each prediction (``non_finite_output``) are logged with it.
* **One Core connection**: the transaction runs on a SQLAlchemy Core connection, the
  hot path (executing the same statements through an ORM session costs about 2 ms
  more per request on SQLite). A route that writes ORM objects gets a session bound to
  that same connection from :attr:`Transaction.session`, so its writes commit or roll
  back with the usage record.

A route reads::

    call = MeteredCall(state, principal, request, body=body, idempotency_key=key)
    try:
        outputs = run the model (outside any transaction)
    except BaryonError as exc:
        return call.fail(exc)  # the stored answer of a replay; else records and raises
    return call.commit(inputs=len(texts), logs=[Logged(...)], answer=answer)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.metering import (
    Executor,
    QuotaState,
    StoredResponse,
    check_idempotency_key,
    find_replay,
    record_usage,
)
from baryon.core.db import Database
from baryon.core.errors import BaryonError, QuotaExceeded
from baryon.core.ids import new_id
from baryon.core.scope import Scope
from baryon.predictions.inference import ServedModel, choose_variant, resolve_variant
from baryon.predictions.log import log_prediction
from baryon.serving.auth import Principal
from baryon.serving.deps import AppState
from baryon.serving.routers._common import (
    IDEMPOTENCY_HEADER,
    fingerprint,
    idempotent_write,
    json_bytes,
    replay_response,
)

__all__ = ["Logged", "MeteredCall", "Transaction", "choose_model", "route_template"]


@dataclass(frozen=True)
class Logged:
    """One prediction to write to the prediction log.

    Attributes
    ----------
    model : ServedModel
    variant : str
        ``champion``, ``challenger`` or ``pinned``.
    inputs, outputs : list
        One entry per scored input (an entry with no inputs is not logged).
    flags : tuple of str
        Flags of the outputs, e.g. ``non_finite_output``.
    """

    model: ServedModel
    variant: str
    inputs: list[Any]
    outputs: list[Any]
    flags: Sequence[str] = field(default=())


def choose_model(
    state: AppState, principal: Principal, name: str, request_id: str | None
) -> tuple[ServedModel, str]:
    """Resolve ``name`` for this organization (its own model of that name, else one shared
    with it): champion, or its traffic split's pick."""
    weight = state.challenger_weight(principal.org_id, name)
    wanted = "champion"
    if weight > 0:
        wanted = choose_variant(weight, org_id=principal.org_id, model=name, request_id=request_id)
    return resolve_variant(state.resolver, name, wanted, scope=state.scope_of(principal.org_id))


def route_template(request: Request) -> str:
    """The matched route's path template (``/v1/recommendations/{user_id}``).

    Usage is grouped by endpoint, so a path parameter that names a caller's object (a
    model, a user id) must not make every call its own endpoint.
    """
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or request.url.path)


class Transaction:
    """The metered request's transaction, as :meth:`MeteredCall.commit` hands it to
    the route: a Core connection, and an ORM session on it when the route asks.

    Parameters
    ----------
    connection : Connection
        Open, in a transaction that :class:`MeteredCall` commits or rolls back.
    db : Database
        The workspace's database (makes the session).
    scope : Scope
        The caller's organization: the session applies it (:mod:`baryon.core.scope`).
    """

    def __init__(self, connection: Connection, db: Database, scope: Scope) -> None:
        self.connection = connection
        self._db = db
        self._scope = scope
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session bound to :attr:`connection` (made on first use).

        It joins the connection's transaction: its writes are flushed before the
        usage record and commit or roll back with it; it never commits by itself.
        """
        if self._session is None:
            self._session = self._db.bind_session(self.connection, self._scope)
        return self._session

    def flush(self) -> None:
        """Write the session's pending objects (if a session was made)."""
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        """Release the session (if any); the transaction is left to its owner."""
        if self._session is not None:
            self._session.close()
            self._session = None


Answer = Callable[[Transaction, list[str | None]], dict[str, Any]]
"""``answer(tx, prediction_ids) -> body``: writes what the route stores (through
``tx``) and returns the response body (``usage`` is added)."""


class MeteredCall:
    """One metered request, from the start of its handler to its answer.

    Parameters
    ----------
    state : AppState
    principal : Principal
    request : Request
        Names the endpoint (route template) and, with ``body``, fingerprints the
        request for idempotency.
    body : BaseModel, optional
        The parsed body (``None`` for a GET).
    idempotency_key : str, optional
        The ``Idempotency-Key`` header.
    request_id : str, optional
        Logged with each prediction (sticky traffic split).

    Raises
    ------
    InvalidInput
        Code ``invalid_idempotency_key`` for a malformed key (before any model runs).
    """

    def __init__(
        self,
        state: AppState,
        principal: Principal,
        request: Request,
        *,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self.state = state
        self.principal = principal
        self.endpoint = route_template(request)
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.fingerprint: str | None = None
        self._reserved: list[tuple[QuotaState, int]] = []
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
            self.fingerprint = fingerprint(request, body)

    # ----------------------------------------------------------------- answers
    def commit(
        self,
        *,
        inputs: int,
        logs: Sequence[Logged],
        answer: Answer,
        status_code: int = 200,
    ) -> Response:
        """Meter, log and store the request in one transaction; answer its JSON.

        In order, in one transaction: replay a stored answer for the
        ``Idempotency-Key`` (nothing else happens); take ``inputs x weight`` units of
        quota; log each prediction; run ``answer``; write the usage record; store the
        answer for the key.

        Parameters
        ----------
        inputs : int
            Inputs the request scored (``>= 0``; what an input is per route:
            :data:`baryon.commerce.plans.METERED_ROUTES`).
        logs : sequence of Logged
            Predictions to log; their ids reach ``answer`` in the same order
            (``None`` for an entry with no inputs, which is not logged).
        answer : callable
            ``answer(tx, prediction_ids) -> dict``, the response body; it may write
            through ``tx.session`` (same transaction).
        status_code : int
            HTTP status of the answer (and of its usage record).

        Returns
        -------
        Response
            The JSON answer with ``usage: {units, quota, used, remaining}``, or the
            stored answer of a replay.

        Raises
        ------
        QuotaExceeded
            Not enough quota left for the request's units (nothing is written), or no
            active subscription (code ``no_subscription``).
        """
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        charged: list[int] = []

        def write(conn: Executor) -> bytes:
            assert isinstance(conn, Connection)
            self._give_back()  # a second attempt: the first one rolled back
            payload, units = self._write(conn, inputs, logs, answer, status_code, latency_ms)
            charged[:] = [units]  # a retried transaction leaves only its own count
            return payload

        try:
            response = idempotent_write(
                self.state, self.principal, self.state.connection, write,
                idempotency_key=self.idempotency_key, fingerprint=self.fingerprint,
                status_code=status_code,
            )  # fmt: skip
        except BaseException:
            self._give_back()  # the transaction rolled back (or its commit failed)
            raise
        if IDEMPOTENCY_HEADER in response.headers:
            self._give_back()  # a concurrent first request won: its answer is the one
        else:
            self._reserved.clear()  # committed with its usage record
            self.state.metrics.usage_units.labels(self.endpoint).inc(charged[0])
            for entry in logs:
                if entry.inputs:
                    self.state.metrics.predictions.labels(entry.model.name, entry.variant).inc()
        return response

    def fail(self, error: BaryonError, *, model: ServedModel | None = None) -> Response:
        """Answer a request whose model could not: a replay, else the error.

        A request repeating a stored ``Idempotency-Key`` gets the first answer back
        (and nothing is written). Otherwise one usage record of 0 units with the
        error's status is written (no quota taken) and ``error`` is raised.

        Parameters
        ----------
        error : BaryonError
            What the model (or choosing it) raised.
        model : ServedModel, optional
            The model that failed, when one was chosen (named in the usage record).

        Returns
        -------
        Response
            Only for a replay.

        Raises
        ------
        BaryonError
            ``error``, after its usage record is committed.
        """
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        sub = self.principal.subscription
        with self.state.connection() as conn:
            now = self.state.clock.now()
            stored = self._replay(conn, now)
            if stored is not None:
                return replay_response(stored)
            record_usage(
                conn,
                org_id=self.principal.org_id,
                key_id=self.principal.key_id,
                endpoint=self.endpoint,
                units=0,
                status=error.http_status,
                latency_ms=latency_ms,
                period_start=sub.period(now)[0] if sub is not None else now,
                model_name=None if model is None else model.name,
                model_version=None if model is None else model.version,
                clock=self.state.clock,
            )
        raise error

    # ------------------------------------------------------------------ steps
    def _give_back(self) -> None:
        """Give back the quota of attempts whose transaction rolled back.

        A no-op for the database's counter (the rollback took the units back); a
        Redis counter gets them back, so units reserved equal units recorded.
        """
        while self._reserved:
            quota, units = self._reserved.pop()
            self.state.quota.give_back(quota, self.principal.org_id, units=units)

    def _replay(self, conn: Connection, now: datetime) -> StoredResponse | None:
        if self.fingerprint is None or self.idempotency_key is None:
            return None
        return find_replay(
            conn,
            key_id=self.principal.key_id,
            idempotency_key=self.idempotency_key,
            fingerprint=self.fingerprint,
            now=now,
        )

    def _write(
        self,
        conn: Connection,
        inputs: int,
        logs: Sequence[Logged],
        answer: Answer,
        status_code: int,
        latency_ms: float,
    ) -> tuple[bytes, int]:
        # Runs inside idempotent_write's transaction, after it found no stored answer.
        principal, clock = self.principal, self.state.clock
        now = clock.now()
        sub = principal.subscription
        if sub is None:
            raise QuotaExceeded("the organization has no active plan", code="no_subscription")
        units = sub.plan.units_for(self.endpoint, inputs)
        quota = self.state.quota.reserve(conn, sub, units=units, now=now)
        self._reserved.append((quota, units))
        ids: list[str | None] = []
        for entry in logs:
            if not entry.inputs:
                ids.append(None)
                continue
            prediction_id = new_id("pred", clock)
            log_prediction(
                conn,
                prediction_id=prediction_id,
                org_id=principal.org_id,
                key_id=principal.key_id,
                model_name=entry.model.name,
                model_version=entry.model.version,
                variant=entry.variant,
                request_id=self.request_id,
                input_mode=principal.prediction_inputs,
                inputs=entry.inputs,
                outputs=entry.outputs,
                flags=list(entry.flags),
                latency_ms=latency_ms,
                at=now,
            )
            ids.append(prediction_id)
        tx = Transaction(conn, self.state.workspace.db, self.principal.own_scope)
        try:
            body = answer(tx, ids)
            tx.flush()
        finally:
            tx.close()
        main = logs[0].model if logs else None
        record_usage(
            conn,
            org_id=principal.org_id,
            key_id=principal.key_id,
            endpoint=self.endpoint,
            units=units,
            status=status_code,
            latency_ms=latency_ms,
            period_start=quota.period_start,
            model_name=None if main is None else main.name,
            model_version=None if main is None else main.version,
            prediction_id=next((i for i in ids if i is not None), None),
            clock=clock,
        )
        body["usage"] = {
            "units": units,
            "quota": quota.quota,
            "used": quota.used,
            "remaining": max(0, quota.quota - quota.used),
        }
        return json_bytes(body), units
