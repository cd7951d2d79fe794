"""The sentiment monitor: the mood index per ticker and window, with its band; alerts.

Domain calls, as ``GET /v1/sentiment/index`` and ``GET /v1/sentiment/alerts``:
:func:`baryon.solutions.sentiment.service.index_history` (the index of consecutive
windows, each by :func:`~baryon.solutions.sentiment.service.index_of`),
:func:`~baryon.solutions.sentiment.service.list_alerts` and
:func:`~baryon.solutions.sentiment.service.count_alerts` (pages), and
:func:`~baryon.solutions.sentiment.service.known_tickers` for the ticker picker.

The chart ends now, or at the latest stored item when that is older than the chart's
span (a replayed feed), or at the ``end`` given. The alerts list refreshes itself
every :data:`POLL_SECONDS` with htmx (``/console/sentiment/alerts``, the list alone).
Both need ``predictions:read`` (items and alerts hold customers' and sources' texts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from baryon.serving.console._app import Page, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.solutions.sentiment.monitor import parse_window
from baryon.solutions.sentiment.service import (
    count_alerts,
    index_history,
    item_span,
    known_tickers,
    list_alerts,
)

__all__ = ["POLL_SECONDS", "router"]

router = APIRouter()
#: Alerts per page.
PAGE_SIZE = 20
#: How often the alerts list refreshes itself (seconds).
POLL_SECONDS = 10
#: Windows drawn per chart, by window length.
POINTS = {"1h": 48, "1d": 30}
_TICKER = Query(None, max_length=20, pattern=r"^\$?[A-Za-z][A-Za-z0-9]{0,9}(\.[A-Za-z]{1,2})?$")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chart(points: list[Any]) -> dict[str, Any]:
    """The index and its confidence band per window end, for uPlot (gaps where n = 0)."""
    return {
        "x": [p.end.timestamp() for p in points], "time": True, "x_label": "window end (UTC)",
        "y_label": "mood index", "series": [
            {"label": "mood index", "values": [p.index for p in points]},
            {"label": f"{points[0].level:.0%} band, low", "dash": [4, 4],
             "values": [p.low if p.n else None for p in points]},
            {"label": f"{points[0].level:.0%} band, high", "dash": [4, 4],
             "values": [p.high if p.n else None for p in points]},
        ],
    }  # fmt: skip


def _alerts(state: Any, user: ConsoleUser, ticker: str | None, page: int) -> dict[str, Any]:
    principal = user.principal
    with state.transaction(principal.own_scope) as session:
        pager = Page(page, PAGE_SIZE, count_alerts(session, principal.org_id, ticker=ticker))
        alerts = list_alerts(
            session, principal.org_id, ticker=ticker, limit=PAGE_SIZE, offset=pager.offset,
            items_per_alert=3,
        )  # fmt: skip
    query = urlencode({"ticker": ticker}) if ticker else ""
    poll = urlencode({k: v for k, v in (("ticker", ticker), ("page", page)) if v})
    return {
        "alerts": alerts, "alerts_page": pager, "ticker": ticker, "poll": POLL_SECONDS,
        "alerts_href": f"?{query}&" if query else "?", "alerts_poll": f"/sentiment/alerts?{poll}",
    }  # fmt: skip


@router.get("/sentiment", include_in_schema=False)
def monitor(
    request: Request,
    ticker: str | None = _TICKER,
    window: Literal["1h", "1d"] = Query("1h"),
    end: datetime | None = Query(None),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("predictions:read"),
) -> Response:
    """The mood index chart of a ticker (or all) and window, and the alerts."""
    state = console_state(request)
    principal = user.principal
    points = POINTS[window]
    now = state.clock.now()
    with state.transaction(principal.own_scope) as session:
        span = item_span(session, principal.org_id)
        chosen = _utc(end) if end is not None else now
        if end is None and span is not None and span[1] < now - points * parse_window(window):
            chosen = span[1]
        history = index_history(
            session, principal.org_id, window=window, ticker=ticker, end=chosen, points=points
        )
        tickers = known_tickers(session, principal.org_id)
    latest = history[-1]
    return render(
        request, "sentiment.html", user, title="Sentiment monitor", nav="sentiment",
        mood_chart=_chart(history), latest=latest, window=window, windows=list(POINTS),
        tickers=tickers, span=span, end=chosen, moved=end is None and chosen != now,
        **_alerts(state, user, latest.ticker, page),
    )  # fmt: skip


@router.get("/sentiment/alerts", include_in_schema=False)
def alerts(
    request: Request,
    ticker: str | None = _TICKER,
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("predictions:read"),
) -> Response:
    """The alerts list alone (what the monitor page polls)."""
    state = console_state(request)
    data = _alerts(state, user, ticker, page)
    return render(request, "sentiment_alerts.html", user, **data)
