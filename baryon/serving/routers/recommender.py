"""Wine recommendations and interaction events.

=========================================  ==================  =================
route                                      permission          metered
=========================================  ==================  =================
``GET  /v1/recommendations/{user_id}``     ``models:predict``  1 unit per user
``POST /v1/events``                        ``feedback:write``  no (feedback)
=========================================  ==================  =================

Recommendations come from the ``recommender`` model (champion, or the organization's
traffic split), joined with the bundled X-Wines wine table (name, type, country,
grapes). A user the model does not know gets ``cold_start: true`` and a
content-based answer when the request states tastes (``type``, ``country``,
``grape``) or the organization has stored events of that user, else the most popular
wines. Recommendations go through the metered commit path
(:class:`~baryon.serving.routers._metered.MeteredCall`) like every scoring route.
Events (``view``, ``click``, ``rate`` with a 1-5 value) are stored per organization
as feedback for the next training; like ``POST /v1/feedback`` they are not metered
(ground truth that improves the model is not charged).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.core.errors import BaryonError
from baryon.predictions.inference import ServedModel
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import NON_BLANK, IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.routers._metered import Logged, MeteredCall, Transaction, choose_model
from baryon.serving.solution_schemas import EventOut, EventRequest, RecommendationsResponse
from baryon.solutions.recommender.service import (
    Preferences,
    Recommendation,
    Recommender,
    WineCatalogue,
    record_event,
    user_events,
)

__all__ = ["router"]

#: A wine type, country or grape the user prefers: 1-100 characters, not all white space.
Taste = Annotated[str, Field(min_length=1, max_length=100, pattern=NON_BLANK)]

router = APIRouter(prefix="/v1", tags=["recommender"], responses=PROBLEMS)
logger = logging.getLogger("baryon.serving")
MODEL = "recommender"


def catalogue_of(request: Request) -> WineCatalogue:
    """The app's wine catalogue, read from the bundled file on first use."""
    found = getattr(request.app.state, "wine_catalogue", None)
    if found is None:
        found = WineCatalogue.bundled()
        request.app.state.wine_catalogue = found
    return found


@router.get(
    "/recommendations/{user_id}",
    response_model=RecommendationsResponse,
    responses=problems("model_not_ready", "missing_dependency"),
)
def get_recommendations(
    request: Request,
    user_id: str = Path(min_length=1, max_length=200),
    n: int = Query(10, ge=1, le=100),
    type: list[Taste] | None = Query(None, max_length=10, description="Preferred wine type(s)."),
    country: list[Taste] | None = Query(None, max_length=10, description="Preferred countries."),
    grape: list[Taste] | None = Query(None, max_length=20, description="Preferred grapes."),
    x_request_id: str | None = Header(None, max_length=200),
    principal: Principal = require("models:predict"),
    state: AppState = Depends(get_state),
) -> Response:
    """Top-``n`` wines for a user, with score, name, type and country.

    Unknown users get ``cold_start: true``: a content-based answer from ``type``,
    ``country`` and ``grape`` (or from their stored events), else the most popular wines.
    Metered at one unit (one user; times the plan's weight for this route).
    """
    call = MeteredCall(state, principal, request, request_id=x_request_id)
    prefs = Preferences(tuple(type or ()), tuple(country or ()), tuple(grape or ()))
    with state.transaction(principal.own_scope) as session:
        events = user_events(session, org_id=principal.org_id, user_id=user_id)
    served: ServedModel | None = None
    try:
        served, variant = choose_model(state, principal, MODEL, x_request_id)
        found: Recommendation = Recommender(served.estimator, catalogue_of(request)).recommend(
            user_id, n, events=events, preferences=prefs or None
        )
    except BaryonError as exc:
        return call.fail(exc, model=served)
    except Exception:
        logger.exception("the recommender failed for user %r", user_id)
        failed = BaryonError("the recommender failed on this request", code="prediction_failed")
        return call.fail(failed, model=served)
    output = {
        "items": [i["item_id"] for i in found.items],
        "scores": [i["score"] for i in found.items],
        "cold": found.cold_start,
        "strategy": found.strategy,
    }
    model = served

    def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
        return {
            "prediction_id": ids[0],
            "model_version": model.version,
            "user_id": user_id,
            "cold_start": found.cold_start,
            "strategy": found.strategy,
            "items": found.items,
        }

    return call.commit(inputs=1, logs=[Logged(model, variant, [user_id], [output])], answer=answer)


@router.post(
    "/events", response_model=EventOut, status_code=201, responses=problems("unknown_item")
)
def post_event(
    body: EventRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("feedback:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Store an interaction as feedback for the next training.

    ``rate`` needs a ``value`` from 1 to 5 (``missing_value``, ``value_out_of_range``);
    ``view`` and ``click`` take none (``value_not_allowed``); the wine must be in the
    catalogue (``unknown_item``).
    """
    catalogue = catalogue_of(request)

    def work(session: Session) -> dict[str, Any]:
        return record_event(
            session,
            org_id=principal.org_id,
            user_id=body.user_id,
            item_id=body.item_id,
            type=body.type,
            value=body.value,
            catalogue=catalogue,
            key_id=principal.key_id,
            clock=state.clock,
        ).to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip
