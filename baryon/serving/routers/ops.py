"""Operations: ``/healthz``, ``/readyz`` (no key) and ``/metrics`` (operator admins)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from sqlalchemy import text
from starlette.responses import Response

from baryon.core.errors import DatabaseError, ModelNotReady
from baryon.serving.auth import Principal, public, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.schemas import HealthOut, ReadyOut

__all__ = ["router"]

logger = logging.getLogger("baryon.serving")
router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut, dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process is up (no key, no database access)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    dependencies=[public()],
    responses=problems("not_ready"),
)
def readyz(state: AppState = Depends(get_state)) -> dict[str, object]:
    """Ready to serve: the database answers and every champion model loads (no key).

    The answer names no model: it only says how many were checked.
    """
    try:
        with state.workspace.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        logger.exception("readiness: database unreachable")
        raise DatabaseError("the database is not reachable", code="not_ready") from None
    models = state.resolver.readiness()
    failed = sum(1 for ok in models.values() if not ok)
    if failed:
        raise ModelNotReady(f"{failed} champion model(s) cannot be loaded", code="not_ready")
    return {"status": "ready", "database": "ok", "models_checked": len(models)}


@router.get(
    "/metrics",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/plain": {}}, "description": "Prometheus"}},
)
def metrics(
    principal: Principal = require("metrics:read"), state: AppState = Depends(get_state)
) -> Response:
    """Prometheus metrics of this process (operator ``owner``/``admin`` keys)."""
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
