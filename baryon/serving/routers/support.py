"""Customer-service assistant: ``POST /v1/support/answer``.

==============================  ==================  ========
route                           permission          metered
==============================  ==================  ========
``POST /v1/support/answer``     ``models:predict``  1 unit per message
==============================  ==================  ========

The route works like ``POST /v1/models/{name}/predict``: the text is checked (blank →
422 ``empty_text``, over ``max_text_chars`` → 422 ``text_too_long``), the
``support-intent`` model (champion, or the organization's traffic split) answers
outside any transaction, then the metered commit path
(:class:`~baryon.serving.routers._metered.MeteredCall`) replays a stored
``Idempotency-Key`` response or, in one transaction, takes one unit of quota (times
the plan's weight for the route), logs the prediction, writes a hand-off to the
hand-off and labeling queues (:func:`baryon.solutions.support.service.queue_turn`,
text kept only in the organization's input mode ``full``) and the usage record. A
request the model cannot answer is a 0-unit usage record; no ``support-intent``
model at all (or no champion) is 503 ``model_not_ready``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from baryon.core.errors import BaryonError, ModelNotReady, NotFound
from baryon.predictions.inference import ServedModel
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._metered import Logged, MeteredCall, Transaction, choose_model
from baryon.serving.solution_schemas import SupportAnswerRequest, SupportAnswerResponse
from baryon.solutions.bundled import SupportAnswers, load_answers
from baryon.solutions.support.pipeline import MODEL_NAME
from baryon.solutions.support.service import (
    IntentModel,
    SupportDecision,
    check_text,
    decide,
    queue_turn,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/support", tags=["support"], responses=PROBLEMS)


def _answers(request: Request) -> SupportAnswers:
    """The bundled answer templates, read once per app."""
    cached = getattr(request.app.state, "support_answers", None)
    if cached is None:
        cached = load_answers()
        request.app.state.support_answers = cached
    return cached  # type: ignore[no-any-return]


@router.post(
    "/answer",
    response_model=SupportAnswerResponse,
    responses=problems("model_not_ready", "missing_dependency"),
)
def answer(
    body: SupportAnswerRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    x_request_id: str | None = Header(None, max_length=200),
    principal: Principal = require("models:predict"),
    state: AppState = Depends(get_state),
) -> Response:
    """Answer one message with the ``support-intent`` model, or hand it to a human.

    Metered (1 unit per message, times the plan's weight for this route) and logged
    like a prediction; a hand-off is queued for an agent and, when the organization
    keeps inputs, for labeling.
    """
    request_id = body.request_id or x_request_id
    call = MeteredCall(
        state, principal, request, body=body, idempotency_key=idempotency_key,
        request_id=request_id,
    )  # fmt: skip
    text = check_text(body.text, max_chars=state.settings.max_text_chars)
    served: ServedModel | None = None
    try:
        try:
            served, variant = choose_model(state, principal, MODEL_NAME, request_id)
        except NotFound:
            raise ModelNotReady(
                f"no {MODEL_NAME} model in this workspace yet: run `baryon demo` "
                "(or SupportPipeline(ws).run()) to train it",
                details={"model": MODEL_NAME},
            ) from None
        model = IntentModel(served.name, served.version, served.estimator, dict(served.extra))
        decision: SupportDecision = decide(model, text, _answers(request))
    except BaryonError as exc:
        return call.fail(exc, model=served)

    def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
        prediction_id = str(ids[0])
        queue_turn(
            tx.session,
            decision,
            prediction_id=prediction_id,
            org_id=principal.org_id,
            conversation_id=body.conversation_id,
            input_mode=principal.prediction_inputs,
            clock=state.clock,
        )
        return decision.to_response(prediction_id)

    return call.commit(
        inputs=1,
        logs=[Logged(served, variant, [decision.text], [decision.to_output()])],
        answer=answer,
    )
