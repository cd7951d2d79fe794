"""Predictions: ``POST /v1/models/{name}/predict``, the prediction log, feedback, endpoints.

A prediction request goes: caps (batch length, text length, finite numbers) → pick
the model (``?version=N``, else the endpoint's champion/challenger split, sticky per
``request_id``) → run it **outside** any transaction → the metered commit path
(:class:`~baryon.serving.routers._metered.MeteredCall`, shared by every metered
route): one transaction that replays a stored ``Idempotency-Key`` response if there
is one, else takes one unit of quota per input (times the plan's weight for the
route), logs the prediction with its flags, writes the usage record and stores the
idempotent response. A request refused for quota writes nothing. A request whose model
fails (unknown model, no champion, inputs the model cannot use) writes a usage record
with 0 units and its error status, and takes no quota.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.core.config import Settings
from baryon.core.errors import BaryonError, InvalidInput, PayloadTooLarge
from baryon.core.refs import NAME_PATTERN
from baryon.labeling.sources import (
    check_feedback_label,
    queue_disagreement,
    queue_unsure,
    unsure_outputs,
)
from baryon.predictions.inference import ServedModel, check_traffic_split
from baryon.predictions.log import (
    add_feedback,
    get_prediction,
    list_endpoints,
    list_predictions,
    set_endpoint,
)
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.routers._metered import Logged, MeteredCall, Transaction, choose_model
from baryon.serving.schemas import (
    EndpointOut,
    EndpointRequest,
    FeedbackOut,
    FeedbackRequest,
    PredictionOut,
    PredictRequest,
    PredictResponse,
)

__all__ = ["check_caps", "router"]

router = APIRouter(prefix="/v1", tags=["predictions"], responses=PROBLEMS)
_MODEL_NAME = f"^{NAME_PATTERN}$"  # the one name rule (baryon.core.refs)


#: Largest finite float; a JSON integer beyond it cannot reach a model.
_FLOAT_MAX = sys.float_info.max


def check_caps(inputs: list[Any], settings: Settings) -> None:
    """Refuse a batch over ``max_batch_size`` (413), a text over ``max_text_chars`` (422)
    or a NaN/infinite number (422) anywhere in ``inputs``."""
    if len(inputs) > settings.max_batch_size:
        raise PayloadTooLarge(
            f"at most {settings.max_batch_size} inputs per request, got {len(inputs)}",
            code="batch_too_large",
            details={"max_batch_size": settings.max_batch_size},
        )
    limit = settings.max_text_chars
    stack: list[Any] = list(inputs)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if len(value) > limit:
                raise InvalidInput(
                    f"a text in inputs is longer than {limit} characters",
                    code="text_too_long",
                    details={"max_text_chars": limit},
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput("inputs contain NaN or infinity", code="non_finite_input")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _FLOAT_MAX:
            # JSON allows integers of any size; past float range the model overflowed (500).
            raise InvalidInput(
                "inputs contain a number too large for a float", code="non_finite_input"
            )
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _choose(
    state: AppState, principal: Principal, name: str, version: int | None, request_id: str | None
) -> tuple[ServedModel, str]:
    if version is not None:
        scope = state.scope_of(principal.org_id)
        return state.resolver.resolve(name, scope=scope, version=version), "pinned"
    return choose_model(state, principal, name, request_id)


@router.post(
    "/models/{name}/predict",
    response_model=PredictResponse,
    responses=problems(
        "model_not_ready",
        "missing_dependency",
        "invalid_inputs",
        "invalid_features",
    ),
)
def predict(
    body: PredictRequest,
    request: Request,
    name: str = Path(max_length=100, pattern=_MODEL_NAME),
    version: int | None = Query(
        None, ge=1, le=2**31 - 1, description="Pin a version (default: champion)."
    ),
    owner: str | None = Query(
        None,
        max_length=64,
        description="The organization that shared the model with you, when you also "
        "have a model of that name (yours is used by default).",
    ),
    idempotency_key: IdempotencyKey | None = Header(None),
    x_request_id: str | None = Header(None, max_length=200),
    principal: Principal = require("models:predict"),
    state: AppState = Depends(get_state),
) -> Response:
    """Predict with the model's champion (or ``?version=N``); metered, logged, limited.

    Metered at one unit per entry of ``inputs`` (times the plan's weight for this
    route). The response always carries ``prediction_id`` and ``model_version``; NaN
    or infinite outputs come back as ``null`` with the flag ``non_finite_output``.

    Tabular rows follow the version's input policy: by default a null, missing or
    unknown feature, or a value of the wrong type (``true`` for a number, ``"0.7"``
    for a number) is 422 ``invalid_features`` naming the row, the feature and the
    expected type; a version trained with ``missing=impute`` fills nulls and missing
    features with the training value, lists them per row in ``imputed`` and sets the
    flag ``imputed_input``.
    """
    request_id = body.request_id or x_request_id
    call = MeteredCall(
        state, principal, request, body=body, idempotency_key=idempotency_key,
        request_id=request_id,
    )  # fmt: skip
    check_caps(body.inputs, state.settings)
    model: ServedModel | None = None
    try:
        ref = name if owner is None else f"{owner}/{name}"
        model, variant = _choose(state, principal, ref, version, request_id)
        outputs, flags, imputed = state.batcher.infer(model, body.inputs)
    except BaryonError as exc:
        return call.fail(exc, model=model)
    served = model
    unsure = unsure_outputs(
        served, body.inputs, outputs, input_mode=principal.prediction_inputs,
        default_threshold=state.settings.labeling_threshold,
    )  # fmt: skip

    def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
        if unsure:  # queued for labeling in the same transaction
            queue_unsure(
                tx.session, served, unsure, prediction_id=ids[0], org_id=principal.org_id,
                clock=state.clock,
            )  # fmt: skip
        return {
            "prediction_id": ids[0],
            "model": served.name,
            "model_version": served.version,
            "variant": variant,
            "outputs": outputs,
            "flags": flags,
            "imputed": imputed,
        }

    return call.commit(
        inputs=len(body.inputs),
        logs=[Logged(served, variant, body.inputs, outputs, flags)],
        answer=answer,
    )


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses=problems("feedback_exists", "invalid_feedback", "unknown_label"),
)
def post_feedback(
    body: FeedbackRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("feedback:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Ground truth for one item of a logged prediction: a ``label`` or a ``rating``.

    A classifier's label must be one of its classes (422 ``unknown_label``), a
    regression's a number (422 ``label_not_numeric``). A label that differs from the
    prediction's queues the item for labeling (when the log kept the input).
    """
    if isinstance(body.label, str) and len(body.label) > state.settings.max_text_chars:
        raise InvalidInput(
            f"label is longer than {state.settings.max_text_chars} characters",
            code="text_too_long",
        )
    model = None if body.label is None else _feedback_model(state, principal, body.prediction_id)

    def work(session: Session) -> dict[str, Any]:
        pid, item, label = body.prediction_id, body.item, body.label
        check_feedback_label(session, model, prediction_id=pid, item=item, label=label)
        stored = add_feedback(
            session,
            org_id=principal.org_id,
            key_id=principal.key_id,
            prediction_id=body.prediction_id,
            item=body.item,
            label=body.label,
            rating=body.rating,
            clock=state.clock,
        )
        queue_disagreement(
            session, model, prediction_id=pid, item=item, label=label, org_id=principal.org_id,
            clock=state.clock,
        )  # fmt: skip
        return stored

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


def _feedback_model(
    state: AppState, principal: Principal, prediction_id: str
) -> ServedModel | None:
    """The model version of a logged prediction, if it can still be loaded (else None:
    its feedback is checked against the logged output alone)."""
    with state.transaction(principal.own_scope) as session:
        try:
            logged = get_prediction(session, prediction_id, org_id=principal.org_id)
        except BaryonError:
            return None
    try:
        scope = state.scope_of(principal.org_id)
        return state.resolver.resolve(logged["model"], scope=scope, version=logged["model_version"])
    except BaryonError:
        return None


@router.get("/predictions", response_model=list[PredictionOut])
def get_predictions(
    model: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = require("predictions:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's latest logged predictions, newest first."""
    with state.transaction(principal.own_scope) as session:
        return list_predictions(session, org_id=principal.org_id, model=model, limit=limit)


@router.get("/predictions/{prediction_id}", response_model=PredictionOut)
def get_one_prediction(
    prediction_id: str = Path(max_length=40),
    principal: Principal = require("predictions:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One logged prediction (another organization's is a 404)."""
    with state.transaction(principal.own_scope) as session:
        return get_prediction(session, prediction_id, org_id=principal.org_id)


@router.get("/endpoints", response_model=list[EndpointOut])
def get_endpoints(
    principal: Principal = require("endpoints:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The organization's endpoints with a traffic split set."""
    with state.transaction(principal.own_scope) as session:
        return list_endpoints(session, principal.org_id)


@router.put("/endpoints/{name}", response_model=EndpointOut)
def put_endpoint(
    body: EndpointRequest,
    request: Request,
    name: str = Path(max_length=100, pattern=_MODEL_NAME),
    principal: Principal = require("endpoints:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Send ``challenger_weight`` of this model's traffic to its challenger (plan feature
    ``traffic_split``); 0 sends everything to the champion.

    The model must be one the organization may call (404 ``model_not_found``), with the
    variants the split uses (422 ``no_champion``, ``no_challenger``).
    """
    features = principal.subscription.plan.features if principal.subscription else ()
    scope = state.scope_of(principal.org_id)
    check_traffic_split(state.resolver, name, body.challenger_weight, scope=scope)
    if body.challenger_weight > 0:
        state.workspace.require_feature("traffic_split")

    def work(session: Session) -> dict[str, Any]:
        return set_endpoint(
            session,
            org_id=principal.org_id,
            model_name=name,
            challenger_weight=body.challenger_weight,
            features=features,
            actor=principal.actor,
            clock=state.clock,
        )

    response = run_write(state, principal, request, work)
    state.forget_endpoint(principal.org_id, name)
    return response
