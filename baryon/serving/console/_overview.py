"""The overview (``/console/``) and usage (``/console/usage``) pages.

Overview: the organization, its plan, the billing period's use against the quota (a
chart of the cumulative units per day), its models and their champions, and, for
roles that may read the prediction log, the latest sentiment alerts and support
hand-offs (they hold customers' texts). Usage: the records of a time range grouped by
endpoint, key or day, with the period's charge so far.

Domain calls: :func:`baryon.commerce.metering.org_detail` and
:func:`~baryon.commerce.metering.usage_summary` (as ``GET /v1/org`` and
``GET /v1/usage``; :func:`~baryon.commerce.metering.usage_report` for the charts' days, so
a page computes the period's charge once), :func:`baryon.training.catalogue.catalogue`
(``GET /v1/models``),
:func:`baryon.solutions.sentiment.service.list_alerts` (``GET /v1/sentiment/alerts``)
and :func:`baryon.solutions.support.service.list_handoffs`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from baryon.commerce.metering import org_detail, usage_report, usage_summary
from baryon.serving.console._app import render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState

__all__ = ["router"]

router = APIRouter()
_RECENT = 5


def _day_chart(
    groups: list[dict[str, Any]], quota: int | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Cumulative units per UTC day over ``[start, end]`` (and the quota), for uPlot.

    The line starts at 0 at ``start`` and holds its last value until ``end``, so the
    x axis spans the whole range however few days had requests.
    """
    xs: list[float] = [start.timestamp()]
    cumulative: list[int] = [0]
    total = 0
    for group in groups:
        day = datetime.fromisoformat(str(group["group"])).replace(tzinfo=UTC)
        total += int(group["units"])
        xs.append(max(day.timestamp(), xs[-1]))
        cumulative.append(total)
    xs.append(max(end.timestamp(), xs[-1]))
    cumulative.append(total)
    series: list[dict[str, Any]] = [{"label": "units used (cumulative)", "values": cumulative}]
    if quota is not None:
        series.append({"label": "quota", "values": [quota] * len(xs), "dash": [6, 4]})
    return {
        "x": xs, "time": True, "x_label": "day (UTC)", "y_label": "units", "series": series,
        "has_data": bool(groups),
    }  # fmt: skip


def _overview(state: AppState, user: ConsoleUser) -> dict[str, Any]:
    principal = user.principal
    now = state.clock.now()
    out: dict[str, Any] = {"models": [], "alerts": [], "handoffs": [], "usage_chart": None}
    with state.transaction() as session:
        out["detail"] = org_detail(session, principal.org_id, now)
        period = out["detail"]["period"]
        if period is not None and user.can("usage:read"):
            start = datetime.fromisoformat(period["start"])
            end = min(datetime.fromisoformat(period["end"]), now + timedelta(seconds=1))
            if start < end:
                days = usage_report(session, principal.org_id, start=start, end=end, group_by="day")
                out["usage_chart"] = _day_chart(days, period["quota"], start, end)
    if user.can("models:read"):
        from baryon.training.catalogue import catalogue

        out["models"] = catalogue(state.workspace_for(principal.org_id))
    if user.can("predictions:read"):
        from baryon.solutions.sentiment.service import list_alerts
        from baryon.solutions.support.service import list_handoffs

        with state.transaction(principal.own_scope) as session:
            out["alerts"] = list_alerts(session, principal.org_id, limit=_RECENT, items_per_alert=0)
            out["handoffs"] = list_handoffs(session, principal.org_id, limit=_RECENT)
    return out


@router.get("/", include_in_schema=False)
def overview(request: Request, user: ConsoleUser = console_require("org:read")) -> Response:
    """Organization, plan, usage against quota, models and champions, alerts, hand-offs."""
    data = _overview(console_state(request), user)
    return render(request, "overview.html", user, title="Overview", nav="overview", **data)


@router.get("/usage", include_in_schema=False)
def usage(
    request: Request,
    group_by: Literal["endpoint", "key", "day"] = Query("endpoint"),
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    user: ConsoleUser = console_require("usage:read"),
) -> Response:
    """Usage by endpoint, key or day in a time range (default: the billing period)."""
    state = console_state(request)
    principal = user.principal
    with state.transaction() as session:
        summary = usage_summary(
            session, principal.org_id, state.clock.now(), start=start, end=end, group_by=group_by
        )
        by_day = summary["groups"]
        if group_by != "day":  # the period's charge is already in summary: only the days
            by_day = usage_report(
                session, principal.org_id, start=summary["start"], end=summary["end"],
                group_by="day",
            )  # fmt: skip
    quota = None if summary["period"] is None else summary["period"]["quota"]
    chart_end = max(min(summary["end"], state.clock.now()), summary["start"])
    key_names: dict[str, str] = {}
    if group_by == "key" and user.can("keys:read"):
        from baryon.tenancy.keys import list_keys

        with state.transaction() as session:
            key_names = {
                k.id: f"{k.name} ({k.prefix}…)" for k in list_keys(session, principal.org_id)
            }
    return render(
        request, "usage.html", user, title="Usage", nav="usage", summary=summary,
        day_chart=_day_chart(by_day, quota, summary["start"], chart_end),
        key_names=key_names,
    )  # fmt: skip
