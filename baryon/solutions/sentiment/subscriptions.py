"""The live monitor: feed sources whose new items the sentiment monitor scores and indexes.

::

    from baryon.solutions.sentiment.subscriptions import subscribe

    made = subscribe(ws, "https://news.example/rss", every="5m", tickers=["AAPL"], actor="me")
    # a feed source (sink "sentiment") and a schedule that runs it every 5 minutes

A subscription is a ``feed`` source (:mod:`baryon.connectors.sources`) whose config
says ``sink: sentiment``, plus a ``source_run`` schedule. Each run fetches the feed,
de-duplicates its items (id or link, content hash), stores the new ones as a dataset
version, and hands them to :func:`sentiment_sink`, which

1. cleans each item into a :class:`~baryon.solutions.sentiment.service.NewsItem`: id
   (the entry's id or link, at most 200 characters), ``published_at`` (the entry's
   time, or the fetch time; a time ahead of now is clamped to now), text (title and
   summary, HTML removed, cut to ``max_text_chars``), tickers (the subscription's, or
   the ``$CASHTAGS`` of the text);
2. scores them with the organization's ``sentiment`` (and ``topic``) champions —
   outside any transaction — and
3. in the run's transaction, stores them and runs the monitor's rules exactly as
   ``POST /v1/sentiment/items`` does (:func:`~baryon.solutions.sentiment.service.ingest_items`):
   the mood index moves and alerts fire as items arrive. An item id the monitor saw
   before is not stored twice.

Items ingested this way are not metered (no API call was made) and not logged as
predictions. Without a ``sentiment`` champion the run fails (``model_not_ready`` or
``model_not_found``) and nothing is stored, so the next run retries the same items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from baryon.connectors.jobs import SOURCE_RUN, SourceSchedule, source_schedule_kinds
from baryon.connectors.sources import Sink, SinkCommit, add_source, remove_source
from baryon.core.errors import BaryonError
from baryon.jobs.queue import JobQueue
from baryon.jobs.schedules import create_schedule, plan_schedule
from baryon.solutions.sentiment.delivery import alert_sender
from baryon.solutions.sentiment.service import (
    MAX_ITEM_ID_CHARS,
    NewsItem,
    SentimentScorer,
    extract_tickers,
    ingest_items,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.workspace import Workspace

__all__ = ["default_name", "sentiment_sink", "sentiment_sinks", "subscribe"]


def _item(
    record: dict[str, Any], source: dict[str, Any], now: datetime, max_chars: int
) -> NewsItem:
    title, summary = str(record.get("title") or ""), str(record.get("summary") or "")
    text = title if not summary or summary == title else f"{title}. {summary}" if title else summary
    published = datetime.fromisoformat(str(record["published_at"]))
    tickers = tuple(source["config"].get("tickers") or ()) or tuple(extract_tickers(text))
    return NewsItem(
        id=str(record["source_key"])[:MAX_ITEM_ID_CHARS],
        published_at=min(published, now),
        source=source["name"],
        text=text[:max_chars],
        tickers=tickers,
    )


def sentiment_sink(
    ws: Workspace, source: dict[str, Any], records: Sequence[dict[str, Any]]
) -> SinkCommit:
    """Score a feed's new items; return the writes that index them (see the module doc).

    Raises
    ------
    BaryonError
        ``model_not_found`` / ``model_not_ready`` (no ``sentiment`` champion),
        ``prediction_failed`` (the model failed on these texts).
    """
    now = ws.clock.now()
    by_id: dict[str, NewsItem] = {}
    for record in records:
        item = _item(record, source, now, ws.settings.max_text_chars)
        by_id.setdefault(item.id, item)
    items = list(by_id.values())
    scorer = SentimentScorer.from_workspace(ws)
    try:
        analyses = scorer.analyze([i.text for i in items])
    except BaryonError:
        raise
    except Exception:
        raise BaryonError(
            "the sentiment model failed on this feed's items", code="prediction_failed"
        ) from None
    scored = dict(zip(by_id, analyses, strict=True))
    org_id = ws.scope.org_id or ""

    # Alerts of subscribed feeds are queued to the organization's channels in the
    # transaction that stores them, as POST /v1/sentiment/items does.
    on_alert = alert_sender(JobQueue(ws.db, ws.clock), org_id=org_id, clock=ws.clock)

    def commit(session: Session) -> dict[str, Any]:
        result = ingest_items(
            session, org_id, items, scored, sentiment_version=scorer.sentiment.version,
            topic_version=None if scorer.topic is None else scorer.topic.version, clock=ws.clock,
            on_alert=on_alert,
        )  # fmt: skip
        return {
            "sink": "sentiment",
            "accepted": len(result.accepted),
            "duplicates": len(result.duplicates),
            "alerts": [a.to_dict() for a in result.alerts],
        }

    return commit


def sentiment_sinks() -> dict[str, Sink]:
    """``{"sentiment": sentiment_sink}``: what the entry points hand to source runs."""
    return {"sentiment": sentiment_sink}


def default_name(url: str) -> str:
    """``sentiment-`` and 10 hex digits of the URL's SHA-256 (one subscription per feed)."""
    return "sentiment-" + hashlib.sha256(url.encode()).hexdigest()[:10]


def subscribe(
    ws: Workspace,
    url: str,
    *,
    every: str | None = None,
    cron: str | None = None,
    tickers: Sequence[str] | None = None,
    name: str | None = None,
    actor: str,
) -> dict[str, Any]:
    """Subscribe the sentiment monitor of organization ``ws.scope`` to a feed.

    Parameters
    ----------
    url : str
        An RSS or Atom feed (http or https).
    every, cron : str
        When it is fetched: an interval (``5m``, at least 60 s) or a 5-field cron
        expression (UTC); exactly one.
    tickers : sequence of str, optional
        Tickers given to every item (default: each item's ``$CASHTAGS``).
    name : str, optional
        The source's name (default :func:`default_name`); the schedule is
        ``source-NAME``.
    actor : str

    Returns
    -------
    dict
        ``{"source": ..., "schedule": ...}``.

    Raises
    ------
    InvalidInput
        As :func:`~baryon.connectors.sources.add_source` and
        :func:`~baryon.jobs.schedules.plan_schedule` (``invalid_url``,
        ``invalid_ticker``, ``invalid_interval``, ``interval_too_short``,
        ``invalid_cron``, ``invalid_schedule``); nothing is written then.
    Conflict
        ``source_exists``, ``schedule_exists``.
    """
    name = name or default_name(url)
    config = {"sink": "sentiment", "tickers": list(tickers or [])}
    kinds = source_schedule_kinds()
    # check the timing before writing anything (the source must exist to plan it)
    plan_kinds = {SOURCE_RUN: _Unchecked()}
    plan_schedule(ws, plan_kinds, kind=SOURCE_RUN, payload={"source": name}, every=every, cron=cron)
    source = add_source(ws, name=name, kind="feed", url=url, config=config, actor=actor)
    try:
        spec = plan_schedule(
            ws, kinds, kind=SOURCE_RUN, payload={"source": name}, every=every, cron=cron
        )
        org_id = ws.scope.org_id or ""
        with ws.db.session(ws.scope) as session:
            schedule = create_schedule(
                session, spec, org_id=org_id, actor=actor, clock=ws.clock
            ).to_dict()
    except BaryonError:
        remove_source(ws, name, actor=actor)
        raise
    return {"source": source, "schedule": schedule}


class _Unchecked(SourceSchedule):
    """The source schedule kind without the check that the source exists (planning)."""

    def prepare(self, ws: Workspace, payload: dict[str, Any]) -> Any:
        return payload
