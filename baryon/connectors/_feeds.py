"""The feed puller (source kind ``feed``): RSS and Atom through feedparser.

Each entry becomes a record ``{source_key, content_hash, id, link, title, summary,
published_at, feed_url}``: ``source_key`` is the entry's id, else its link; the
summary is plain text (HTML tags removed); ``published_at`` is its published or
updated time in UTC (ISO 8601), else the fetch time. The feed is requested with the
last run's ``If-None-Match`` / ``If-Modified-Since``; a ``304`` means nothing new.

Options (``config``): ``max_items`` (default 1000), ``sink`` (``dataset``, the
default, or ``sentiment``: new items are also scored and indexed by the sentiment
monitor), ``tickers`` (with the ``sentiment`` sink: tickers given to every item).

A document that is not well-formed XML, or that feedparser cannot read as a feed, fails
the run (``malformed_feed``: a half-read document would drop items silently); an
encoding feedparser has to guess is not an error; an entry with neither id nor link
(``no_identity``) or no text (``empty_item``) is skipped.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any

from baryon.connectors._records import Pull, content_hash, problem
from baryon.connectors.fetch import OutboundClient
from baryon.core.errors import InvalidInput, UpstreamError

__all__ = ["check_feed_config", "html_to_text", "pull_feed"]

_SINKS = ("dataset", "sentiment")
_FIELDS = frozenset({"max_items", "sink", "tickers"})
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
_SPACE = re.compile(r"\s+")


def check_feed_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check a ``feed`` source's options; return them as stored.

    Raises
    ------
    InvalidInput
        ``invalid_source_config``, ``invalid_ticker``.
    """
    unknown = sorted(set(config) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown feed option {', '.join(unknown)}", code="invalid_source_config"
        )
    max_items = config.get("max_items", 1000)
    if (
        isinstance(max_items, bool)
        or not isinstance(max_items, int)
        or not 1 <= max_items <= 100_000
    ):
        raise InvalidInput("max_items is 1 to 100000", code="invalid_source_config")
    sink = config.get("sink", "dataset")
    if sink not in _SINKS:
        raise InvalidInput(
            f"sink is dataset or sentiment, got {sink!r}", code="invalid_source_config"
        )
    tickers = config.get("tickers") or []
    if not isinstance(tickers, list) or len(tickers) > 50:
        raise InvalidInput("tickers is a list of at most 50 tickers", code="invalid_ticker")
    clean = []
    for ticker in tickers:
        text = str(ticker).strip().lstrip("$").upper()
        if not _TICKER.match(text):
            raise InvalidInput(f"not a ticker: {str(ticker)[:20]!r}", code="invalid_ticker")
        clean.append(text)
    return {"max_items": max_items, "sink": sink, "tickers": sorted(set(clean))}


def html_to_text(html: str) -> str:
    """The text of an HTML fragment, whitespace collapsed ('' for none)."""
    if "<" not in html:
        return _SPACE.sub(" ", html).strip()
    import lxml.html

    try:
        text = lxml.html.fromstring(html).text_content()
    except (ValueError, TypeError, lxml.etree.ParserError):
        text = re.sub(r"<[^>]*>", " ", html)
    return _SPACE.sub(" ", text).strip()


def _when(entry: Any, fallback: datetime) -> str:
    for name in ("published_parsed", "updated_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()
            except (OverflowError, ValueError, TypeError):
                continue
    return fallback.isoformat()


def pull_feed(
    client: OutboundClient, url: str, config: dict[str, Any], state: dict[str, Any]
) -> Pull:
    """Fetch and read a feed (see the module docstring).

    Raises
    ------
    UpstreamError
        ``upstream_status``, ``malformed_feed`` and the client's codes.
    """
    import feedparser

    pull = Pull(state=dict(state))
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
    }
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    fetched = client.get(url, headers=headers, retries=2)
    pull.fetches.append(
        {"url": fetched.url, "status": fetched.status, "fetched_at": fetched.fetched_at,
         "etag": fetched.headers.get("etag"), "last_modified": fetched.headers.get("last-modified"),
         "bytes": len(fetched.body), "attempts": fetched.attempts}
    )  # fmt: skip
    if fetched.status == 304:
        pull.notes.append("not_modified")
        return pull
    if not fetched.ok:
        raise UpstreamError(f"{fetched.url} answered HTTP {fetched.status}", code="upstream_status")
    content_type = fetched.headers.get("content-type", "application/xml")
    parsed = feedparser.parse(fetched.body, response_headers={"content-type": content_type})
    entries = list(parsed.get("entries") or [])
    problem_type = type(parsed.get("bozo_exception")).__name__ if parsed.get("bozo") else ""
    unreadable = not entries and (problem_type or not parsed.get("version"))
    if problem_type == "SAXParseException" or unreadable:
        raise UpstreamError(
            f"{fetched.url} is not an RSS or Atom feed feedparser can read", code="malformed_feed"
        )
    for position, entry in enumerate(entries[: config["max_items"]]):
        pull.fetched += 1
        identity = str(entry.get("id") or entry.get("link") or "").strip()
        where = identity or f"{fetched.url} entry {position}"
        if not identity:
            pull.failed.append(problem(where, "no_identity", "the entry has neither id nor link"))
            continue
        title = html_to_text(str(entry.get("title") or ""))
        summary = html_to_text(str(entry.get("summary") or ""))
        if not title and not summary:
            pull.failed.append(problem(where, "empty_item", "the entry has no title or text"))
            continue
        link = str(entry.get("link") or "")
        pull.records.append(
            {
                "source_key": identity,
                "content_hash": content_hash(title, summary),
                "id": identity,
                "link": link,
                "title": title,
                "summary": summary,
                "published_at": _when(entry, fetched.fetched_at),
                "feed_url": url,
            }
        )
    if len(entries) > config["max_items"]:
        pull.notes.append("max_items_reached")
    pull.state["etag"] = fetched.headers.get("etag")
    pull.state["last_modified"] = fetched.headers.get("last-modified")
    return pull
