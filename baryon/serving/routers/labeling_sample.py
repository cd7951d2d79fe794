"""Active learning over HTTP: ``POST /v1/labeling/queues/{name}/sample``.

Scores a dataset version's rows with the champion of the queue's model and queues the
``n`` most uncertain (or random) ones as labeling tasks; answers what it queued. Needs
``labeling:write``. The scoring reads only and holds no transaction; the tasks and
the audit event are written in one transaction afterwards. Domain rules, limits and
codes: :mod:`baryon.labeling.sampling`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.sampling_schemas import SampleRequest, SampleResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1/labeling", tags=["labeling"], responses=PROBLEMS)


@router.post(
    "/queues/{name}/sample",
    response_model=SampleResponse,
    responses=problems("queue_changed", "model_not_ready", "missing_dependency", "missing_feature"),
)
def post_sample(
    body: SampleRequest,
    request: Request,
    name: str = Path(min_length=1, max_length=200),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Queue the ``n`` rows of a dataset version the queue's champion is least sure of.

    ``strategy`` is ``least_confidence``, ``margin``, ``entropy`` or ``random``;
    ``diversity`` clusters the candidates so a batch is not one question many times.
    Rows already on the queue, in the champion's test split, repeated or empty are
    skipped. Another organization's queue or dataset is a 404; a bad strategy or
    ``n`` a 422 (``invalid_strategy``, ``invalid_sample_size``); a queue whose model
    has no champion a 503 (``model_not_ready``).
    """
    from baryon.labeling.sampling import DEFAULT_MAX_ROWS, enqueue_sample, plan_sample

    plan = plan_sample(
        state.workspace_for(principal.org_id),
        name,
        body.dataset,
        strategy=body.strategy,
        n=body.n,
        diversity=body.diversity,
        seed=body.seed,
        max_rows=DEFAULT_MAX_ROWS if body.max_rows is None else body.max_rows,
    )

    def work(session: Session) -> dict[str, Any]:
        result = enqueue_sample(session, plan, clock=state.clock, actor=principal.actor)
        return result.to_dict()

    return run_write(state, principal, request, work, body=body, idempotency_key=idempotency_key)
