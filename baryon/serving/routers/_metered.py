"""Metered solution routes: one transaction for quota, usage record, prediction log and
idempotent replay — shared by the support, sentiment and recommender routers.

The generic predict route (:mod:`baryon.serving.routers.predictions`) follows the same
rules; these helpers let a solution route that answers from one or more models do the
same without repeating them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.metering import record_usage, reserve_quota
from baryon.core.errors import BaryonError, QuotaExceeded
from baryon.core.ids import new_id
from baryon.predictions.inference import ServedModel, choose_variant, resolve_variant
from baryon.predictions.log import log_prediction
from baryon.serving.auth import Principal
from baryon.serving.deps import AppState
from baryon.serving.routers._common import IDEMPOTENCY_HEADER, run_write

__all__ = ["Logged", "choose_model", "commit_metered", "record_failure", "route_template"]


@dataclass(frozen=True)
class Logged:
    """One prediction to write to the prediction log.

    Attributes
    ----------
    model : ServedModel
    variant : str
    inputs, outputs : list
        One entry per scored input.
    """

    model: ServedModel
    variant: str
    inputs: list[Any]
    outputs: list[Any]


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
    user id) must not make every call its own endpoint.
    """
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or request.url.path)


def commit_metered(
    state: AppState,
    principal: Principal,
    request: Request,
    *,
    body: BaseModel | None,
    idempotency_key: str | None,
    logs: list[Logged],
    started: float,
    work: Callable[[Session, list[str | None]], dict[str, Any]],
    request_id: str | None = None,
    status_code: int = 200,
) -> Response:
    """Meter, log and store one scoring request in one transaction; answer its JSON.

    The transaction, the ``Idempotency-Key`` replay and its retry are
    :func:`~baryon.serving.routers._common.run_write`'s; this adds the quota, the
    prediction log and the usage record inside it.

    Parameters
    ----------
    logs : list of Logged
        Predictions to log (an entry with no inputs is not logged); their ids are
        handed to ``work`` in the same order (``None`` for an entry not logged).
    started : float
        ``time.perf_counter()`` at the start of the request (latency).
    work : callable
        ``work(session, prediction_ids) -> dict``: writes what the route stores and
        returns the response body (``usage`` is added).

    Raises
    ------
    QuotaExceeded
        Quota used up (nothing is written), or no active subscription.
    """
    endpoint = route_template(request)
    latency_ms = (time.perf_counter() - started) * 1000.0
    sub = principal.subscription

    def metered(session: Session) -> dict[str, Any]:
        # Runs after run_write found no stored replay, inside its transaction.
        now = state.clock.now()
        if sub is None:
            raise QuotaExceeded("the organization has no active plan", code="no_subscription")
        quota = reserve_quota(session, sub, units=1, now=now)
        ids: list[str | None] = []
        for entry in logs:
            if not entry.inputs:
                ids.append(None)
                continue
            prediction_id = new_id("pred", state.clock)
            log_prediction(
                session,
                prediction_id=prediction_id,
                org_id=principal.org_id,
                key_id=principal.key_id,
                model_name=entry.model.name,
                model_version=entry.model.version,
                variant=entry.variant,
                request_id=request_id,
                input_mode=principal.prediction_inputs,
                inputs=entry.inputs,
                outputs=entry.outputs,
                flags=[],
                latency_ms=latency_ms,
                at=now,
            )
            ids.append(prediction_id)
        answer = work(session, ids)
        first = next((i for i in ids if i is not None), None)
        main = logs[0].model if logs else None
        record_usage(
            session,
            org_id=principal.org_id,
            key_id=principal.key_id,
            endpoint=endpoint,
            units=1,
            status=status_code,
            latency_ms=latency_ms,
            period_start=quota.period_start,
            model_name=None if main is None else main.name,
            model_version=None if main is None else main.version,
            prediction_id=first,
            clock=state.clock,
        )
        answer["usage"] = {
            "units": 1,
            "quota": quota.quota,
            "used": quota.used,
            "remaining": max(0, quota.quota - quota.used),
        }
        return answer

    response = run_write(
        state, principal, request, metered, body=body, idempotency_key=idempotency_key,
        status_code=status_code,
    )  # fmt: skip
    if IDEMPOTENCY_HEADER not in response.headers:
        state.metrics.usage_units.labels(endpoint).inc()
        for entry in logs:
            if entry.inputs:
                state.metrics.predictions.labels(entry.model.name, entry.variant).inc()
    return response


def record_failure(
    state: AppState, principal: Principal, request: Request, error: BaryonError, started: float
) -> None:
    """Write the 0-unit usage record of a request whose model could not answer."""
    sub = principal.subscription
    with state.transaction() as session:
        now = state.clock.now()
        record_usage(
            session,
            org_id=principal.org_id,
            key_id=principal.key_id,
            endpoint=route_template(request),
            units=0,
            status=error.http_status,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            period_start=sub.period(now)[0] if sub is not None else now,
            clock=state.clock,
        )
