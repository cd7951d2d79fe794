"""``GET /v1/usage``: the caller's organization's usage records, grouped."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from baryon.commerce.metering import usage_summary
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import Timestamp
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.schemas import UsageOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["usage"], responses=PROBLEMS)


@router.get("/usage", response_model=UsageOut, responses=problems("invalid_range"))
def get_usage(
    start: Timestamp | None = Query(None, description="Inclusive; default: period start."),
    end: Timestamp | None = Query(None, description="Exclusive; default: period end."),
    group_by: Literal["endpoint", "key", "day"] = Query("endpoint"),
    principal: Principal = require("usage:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Usage of the caller's organization in ``[start, end)`` grouped by endpoint, key or day.

    Times are RFC 3339 with an offset (``2026-01-01T00:00:00Z``). Also returns the
    current billing period (quota, used, remaining, charge so far).
    """
    with state.transaction() as session:
        return usage_summary(
            session, principal.org_id, state.clock.now(), start=start, end=end, group_by=group_by
        )
