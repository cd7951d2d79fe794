"""Erasure of a data subject from the caller's organization (``POST /v1/erasures``).

The route of ``baryon data erase`` (:func:`baryon.privacy.erasure.erase`): new dataset
versions without the matching rows, the old versions' bytes deleted (tombstones stay
in the lineage), the organization's logged predictions and labeling tasks holding the
value removed, one ``data.erase`` audit event. Owners and admins only
(``data:erase``). Only the caller's own datasets change; naming another
organization's dataset is ``dataset_not_found``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS
from baryon.serving.schemas import ErasureOut, ErasureRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/erasures", tags=["privacy"], responses=PROBLEMS)


@router.post("", response_model=ErasureOut, status_code=201)
async def create_erasure(
    body: ErasureRequest,
    principal: Principal = require("data:erase"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Erase every row where any ``match`` holds (``{"column", "value"}``: the column's
    text equals the value), in ``datasets`` or in all of the organization's datasets.

    Errors: 422 ``invalid_match``; 404 ``dataset_not_found``; 503
    ``encryption_key_missing`` (an encrypted version cannot be read: nothing changed).
    """
    from baryon.privacy import erase

    def run() -> dict[str, Any]:
        ws = state.workspace_for(principal.org_id)
        matches = [(m.column, m.value) for m in body.match]
        return erase(ws.datasets, matches, datasets=body.datasets, actor=principal.actor).to_dict()

    return await run_in_threadpool(run)
