"""Federated runs over HTTP: ``POST /v1/federated/runs`` queues one (``runs:write``).

The answer is ``202`` with the queued run's and its ``federated`` job's ids; the run is
then watched like any other (``GET /v1/runs/{id}``). Domain rules and codes:
:mod:`baryon.federated.runner`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.federated import FederatedTrainer
from baryon.federated.jobs import submit_federated
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import FederatedRunRequest, RunSubmittedOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/federated", tags=["federated"], responses=PROBLEMS)


@router.post(
    "/runs",
    response_model=RunSubmittedOut,
    status_code=202,
    responses=problems(
        "invalid_dp",
        "invalid_silos",
        "silo_mismatch",
        "no_split",
        "invalid_param",
    ),
)
def post_federated_run(
    body: FederatedRunRequest,
    request: Request,
    idempotency_key: str | None = Header(None, max_length=255),
    principal: Principal = require("runs:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Queue a federated run across ``silos``: ``202`` with the run's and job's ids."""
    trainer = FederatedTrainer(state.workspace_for(principal.org_id), actor=principal.actor)
    spec = trainer.resolve(
        body.model,
        body.kind,
        list(body.silos),
        rounds=body.rounds,
        strategy=body.strategy,
        params=body.params,
        seed=body.seed,
        dp_clip=body.dp_clip,
        dp_noise=body.dp_noise,
        target=body.target,
    )

    def work(session: Session) -> dict[str, Any]:
        return submit_federated(trainer, state.jobs, spec, session=session).to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=202,
    )  # fmt: skip
