"""``GET /v1/usage``: the caller's organization's usage records, grouped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from baryon.commerce.metering import period_report, usage_report
from baryon.commerce.orgs import active_subscription
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
    now = state.clock.now()
    with state.transaction() as session:
        sub = active_subscription(session, principal.org_id)
        period = None if sub is None else period_report(session, sub, now)
        if sub is not None:
            default_start, default_end = sub.period(now)
        else:
            default_start, default_end = now - timedelta(days=31), now + timedelta(seconds=1)
        lo = start or default_start
        hi = end or default_end
        groups = usage_report(session, principal.org_id, start=lo, end=hi, group_by=group_by)
    total = {
        "group": None,
        "requests": sum(g["requests"] for g in groups),
        "units": sum(g["units"] for g in groups),
        "errors": sum(g["errors"] for g in groups),
    }
    return {
        "org_id": principal.org_id,
        "start": lo,
        "end": hi,
        "group_by": group_by,
        "groups": groups,
        "total": total,
        "period": period,
    }
