"""Scoring news items, storing them, and the monitor over what is stored.

Three parts, each usable alone:

- :class:`SentimentScorer` scores texts with a ``sentiment`` model and (optionally)
  a ``topic`` model. Texts get the same cleaning as the training data (Unicode
  NFC, HTML entities and tags, links, whitespace), through the data
  layer's own cleaning steps, before they reach the models.
- :func:`ingest_items`, :func:`index_of` and :func:`list_alerts` keep an
  organization's items, rule states and alerts in the database. They take the
  caller's session, so an HTTP request writes items, alerts, its prediction log and
  its usage record in one transaction.
- :func:`replay` drives an in-memory :class:`~baryon.solutions.sentiment.monitor.Monitor`
  through a dated feed (``baryon sentiment replay``).

News items are ``{"id", "published_at", "source", "text", "tickers"}``;
:func:`parse_item` validates one. Tickers are upper-cased and lose their ``$``; an
item without tickers gets the ``$TICKER`` tokens of its text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.clock import Clock, FixedClock, SystemClock
from baryon.core.errors import InvalidFile, InvalidInput, ModelNotReady
from baryon.core.ids import new_id
from baryon.core.jsonvalues import loads
from baryon.solutions._reuse import check_unicode
from baryon.solutions.sentiment.monitor import (
    BEARISH,
    BULLISH,
    NEUTRAL,
    SENTIMENT_LABELS,
    Alert,
    Monitor,
    MoodIndex,
    Rule,
    ScoredItem,
    parse_window,
)
from baryon.solutions.sentiment.tables import (
    MAX_ITEM_ID_CHARS,
    MAX_TICKER_CHARS,
    TICKER_PATTERN,
    SentimentAlertRow,
    SentimentItemRow,
    SentimentItemTickerRow,
    SentimentRuleStateRow,
)

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "FUTURE_SLACK",
    "LABEL_SYNONYMS",
    "Analysis",
    "IngestResult",
    "NewsItem",
    "ReplaySummary",
    "ScoringModel",
    "SentimentScorer",
    "count_alerts",
    "extract_tickers",
    "index_history",
    "index_of",
    "ingest_items",
    "item_span",
    "known_tickers",
    "list_alerts",
    "parse_item",
    "read_feed",
    "replay",
]

_TICKER_RE = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z]{1,2})?)\b")
_TICKER_OK = re.compile(f"^{TICKER_PATTERN}$")
#: Most tickers kept on one item.
MAX_TICKERS = 20
#: Items accepted this far (seconds) in the future of the server clock (clock skew).
FUTURE_SLACK = timedelta(minutes=5)
#: Inference-time cleaning: the row-preserving part of the training cleaning.
INFERENCE_STEPS: list[str] = ["normalize_unicode", "strip_html", "strip_urls", "trim"]


def extract_tickers(text: str) -> list[str]:
    """Return the ``$TICKER`` symbols of ``text``, upper case, without ``$``, in order.

    ``"$AAPL up, $brk.b flat, $AAPL again, $5 off"`` gives ``["AAPL", "BRK.B"]``.
    """
    seen: dict[str, None] = {}
    for match in _TICKER_RE.finditer(text):
        seen.setdefault(match.group(1).upper(), None)
    return list(seen)[:MAX_TICKERS]


def _check_ticker(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("tickers must be strings", code="invalid_item")
    ticker = value.strip().lstrip("$").upper()
    if len(ticker) > MAX_TICKER_CHARS or not _TICKER_OK.match(ticker):
        raise InvalidInput(
            f"invalid ticker {value!r} (letters and digits, e.g. AAPL or BRK.B)",
            code="invalid_ticker",
        )
    return ticker


def normalise_ticker(value: str | None) -> str | None:
    """Return ``value`` as a stored ticker (``"$aapl"`` → ``"AAPL"``), or None.

    Raises
    ------
    InvalidInput
        Code ``invalid_ticker``.
    """
    if value is None or value == "":
        return None
    return _check_ticker(value)


@dataclass(frozen=True)
class NewsItem:
    """One news item to score.

    Attributes
    ----------
    id : str
        The publisher's id (1-200 characters).
    published_at : datetime
        Timezone-aware (UTC).
    source : str
    text : str
    tickers : tuple of str
    """

    id: str
    published_at: datetime
    source: str
    text: str
    tickers: tuple[str, ...]


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"published_at {value!r} is not an ISO 8601 time", code="invalid_item"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInput("published_at must be an ISO 8601 time", code="invalid_item")
    if value.tzinfo is None:
        raise InvalidInput(
            "published_at needs a timezone (e.g. 2026-03-02T12:00:00Z)", code="invalid_item"
        )
    return value.astimezone(UTC)


def parse_item(obj: Any, *, max_text_chars: int = 10_000) -> NewsItem:
    """Validate one news item given as a mapping.

    Parameters
    ----------
    obj : mapping
        ``id`` (str), ``published_at`` (ISO 8601 with zone, or aware datetime),
        ``source`` (str, optional), ``text`` (str), ``tickers`` (list of str, optional).
    max_text_chars : int
        Longest accepted text.

    Raises
    ------
    InvalidInput
        Code ``invalid_item`` (missing or ill-typed field), ``invalid_ticker``,
        ``text_too_long``.
    """
    if not isinstance(obj, Mapping):
        raise InvalidInput("an item must be an object", code="invalid_item")
    item_id, text, source = obj.get("id"), obj.get("text"), obj.get("source") or ""
    if not isinstance(item_id, str) or not item_id.strip() or len(item_id) > MAX_ITEM_ID_CHARS:
        raise InvalidInput(
            f"id must be a non-empty string of at most {MAX_ITEM_ID_CHARS} characters",
            code="invalid_item",
        )
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"item {item_id!r} has no text", code="invalid_item")
    if len(text) > max_text_chars:
        raise InvalidInput(
            f"item {item_id!r}: text longer than {max_text_chars} characters",
            code="text_too_long",
        )
    if not isinstance(source, str) or len(source) > MAX_ITEM_ID_CHARS:
        raise InvalidInput(
            f"source must be a string of at most {MAX_ITEM_ID_CHARS} characters",
            code="invalid_item",
        )
    if "published_at" not in obj:
        raise InvalidInput(f"item {item_id!r} has no published_at", code="invalid_item")
    raw_tickers = obj.get("tickers")
    if raw_tickers is None or raw_tickers == []:
        tickers = extract_tickers(text)
    elif isinstance(raw_tickers, list | tuple):
        if len(raw_tickers) > MAX_TICKERS:
            raise InvalidInput(f"at most {MAX_TICKERS} tickers per item", code="invalid_item")
        tickers = list(dict.fromkeys(_check_ticker(t) for t in raw_tickers))
    else:
        raise InvalidInput("tickers must be a list of strings", code="invalid_item")
    return NewsItem(
        id=item_id,
        published_at=_as_utc(obj["published_at"]),
        source=source,
        text=text,
        tickers=tuple(tickers),
    )


def read_feed(path: str | Path, *, max_text_chars: int = 10_000) -> list[NewsItem]:
    """Read a JSON Lines feed (one item per line; blank lines skipped).

    Raises
    ------
    InvalidFile
        ``file_not_found``, ``invalid_json`` (with the line number), ``empty_file``.
    InvalidInput
        An invalid item (the message names its line).
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidFile(f"no such feed file: {p}", code="file_not_found")
    items: list[NewsItem] = []
    with p.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = loads(line, what=f"{p.name} line {number}")
            except json.JSONDecodeError as exc:
                raise InvalidFile(
                    f"{p.name} line {number}: not JSON ({exc.msg})",
                    code="invalid_json",
                    details={"line": number},
                ) from None
            try:
                items.append(parse_item(obj, max_text_chars=max_text_chars))
            except InvalidInput as exc:
                raise InvalidInput(
                    f"{p.name} line {number}: {exc.message}",
                    code=exc.code,
                    details={"line": number},
                ) from None
    if not items:
        raise InvalidFile(f"{p.name} holds no items", code="empty_file")
    return items


# ------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class ScoringModel:
    """A loaded classifier and how to name its classes.

    Attributes
    ----------
    name : str
    version : int
    estimator : object
        Has ``predict_proba(texts)`` and ``classes_``.
    label_names : dict of str to str
        ``{str(class): name}``; classes without an entry keep ``str(class)``.
    """

    name: str
    version: int
    estimator: Any
    label_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_registry(
        cls, workspace: Workspace, name: str, *, alias: str = "champion"
    ) -> ScoringModel:
        """Load ``name``'s ``alias`` from the workspace registry.

        Raises
        ------
        NotFound, ModelNotReady
            No such model, or no champion yet.
        """
        loaded = workspace.registry.load(name, alias=alias)
        names = loaded.version.extra.get("label_names") or {}
        return cls(
            name,
            loaded.version.version,
            loaded.estimator,
            {str(k): str(v) for k, v in names.items()},
        )

    def classify(self, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
        """Return ``(label name, {label name: probability})`` per text."""
        proba = self.estimator.predict_proba(texts)
        names = [self.label_names.get(str(c), str(c)) for c in list(self.estimator.classes_)]
        out = []
        for row in proba:
            probs = {n: float(p) for n, p in zip(names, row, strict=True)}
            out.append((max(probs, key=lambda k: probs[k]), probs))
        return out


@dataclass(frozen=True)
class Analysis:
    """Sentiment (and topic) of one text.

    Attributes
    ----------
    label : str
        ``Bearish``, ``Bullish`` or ``Neutral``.
    probabilities : dict of str to float
        Per sentiment class.
    topic : str or None
        Most likely topic (None without a topic model).
    topic_probability : float or None
    """

    label: str
    probabilities: dict[str, float]
    topic: str | None
    topic_probability: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "topic": self.topic,
            "topic_probability": self.topic_probability,
        }


def clean_texts(texts: Sequence[str]) -> list[str]:
    """Apply :data:`INFERENCE_STEPS` (the data layer's cleaning steps) to ``texts``."""
    import pandas as pd
    import pyarrow as pa

    from baryon.data.recipes import apply_steps, parse_steps

    if not texts:
        return []
    # Arrow-backed strings, as the dataset store hands frames to the cleaning steps.
    frame = pa.table({"text": pa.array(list(texts), type=pa.string())}).to_pandas(
        types_mapper=pd.ArrowDtype
    )
    cleaned, _, _ = apply_steps(frame, {"text": "text"}, parse_steps(INFERENCE_STEPS))
    return [str(t) for t in cleaned["text"].tolist()]


#: Class names read as sentiment labels when a model has no ``label_names`` for them
#: (e.g. a model trained on a user's own ``positive/negative/neutral`` corpus).
LABEL_SYNONYMS = {
    "bearish": BEARISH,
    "negative": BEARISH,
    "neg": BEARISH,
    "bullish": BULLISH,
    "positive": BULLISH,
    "pos": BULLISH,
    "neutral": NEUTRAL,
}


class SentimentScorer:
    """Score texts with a sentiment model and an optional topic model.

    Parameters
    ----------
    sentiment : ScoringModel
        Every class must name a sentiment label, through ``label_names`` or a
        synonym in :data:`LABEL_SYNONYMS` (``positive`` → ``Bullish``, ...).
    topic : ScoringModel, optional

    Raises
    ------
    ModelNotReady
        A class of the sentiment model is not a sentiment label.
    """

    def __init__(self, sentiment: ScoringModel, topic: ScoringModel | None = None) -> None:
        names: dict[str, str] = {}
        for cls in sentiment.estimator.classes_:
            key = str(cls)
            names[key] = sentiment.label_names.get(key) or LABEL_SYNONYMS.get(key.lower(), key)
        unknown = sorted(set(names.values()) - set(SENTIMENT_LABELS))
        if unknown:
            raise ModelNotReady(
                f"model {sentiment.name} v{sentiment.version} answers {', '.join(unknown)}, "
                f"not {', '.join(SENTIMENT_LABELS)}; train it with "
                "baryon.solutions.sentiment.SentimentPipeline"
            )
        self.sentiment = replace(sentiment, label_names=names)
        self.topic = topic

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> SentimentScorer:
        """Load the champions of ``sentiment`` and (if registered) ``topic``."""
        from baryon.core.errors import NotFound

        sentiment = ScoringModel.from_registry(workspace, "sentiment")
        try:
            topic: ScoringModel | None = ScoringModel.from_registry(workspace, "topic")
        except (NotFound, ModelNotReady):
            topic = None
        return cls(sentiment, topic)

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Return one :class:`Analysis` per text, in order (an empty list for none).

        Raises
        ------
        InvalidInput
            ``empty_text`` for a text that is empty or only whitespace (nothing to score);
            ``invalid_unicode`` for a text with a lone surrogate.
        """
        if any(not str(text).strip() for text in texts):
            raise InvalidInput("a text is empty", code="empty_text")
        for text in texts:
            check_unicode(str(text))
        cleaned = clean_texts(texts)
        if not cleaned:
            return []
        moods = self.sentiment.classify(cleaned)
        topics: list[tuple[str, dict[str, float]] | None] = (
            list(self.topic.classify(cleaned)) if self.topic is not None else [None] * len(cleaned)
        )
        return [
            Analysis(
                label=label,
                probabilities=probs,
                topic=None if t is None else t[0],
                topic_probability=None if t is None else t[1][t[0]],
            )
            for (label, probs), t in zip(moods, topics, strict=True)
        ]


# ------------------------------------------------------------------ storage
@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest_items` did.

    Attributes
    ----------
    accepted : list of str
        Ids stored now.
    duplicates : list of str
        Ids already stored (or repeated in the batch): not counted again.
    alerts : list of Alert
        Alerts the new items fired.
    """

    accepted: list[str]
    duplicates: list[str]
    alerts: list[Alert]


def _load_rules_state(session: Session, org_id: str) -> dict[str, str]:
    rows = session.scalars(
        select(SentimentRuleStateRow).where(SentimentRuleStateRow.org_id == org_id)
    ).all()
    return {r.key: r.state for r in rows}


def _recent_items(session: Session, org_id: str, since: datetime) -> list[ScoredItem]:
    rows = session.execute(
        select(
            SentimentItemRow.item_id,
            SentimentItemRow.published_at,
            SentimentItemRow.label,
            SentimentItemRow.tickers,
            SentimentItemRow.topic,
        ).where(SentimentItemRow.org_id == org_id, SentimentItemRow.published_at > since)
    ).all()
    return [
        ScoredItem(
            item_id=r[0], published_at=r[1], label=r[2], tickers=tuple(r[3] or ()), topic=r[4]
        )
        for r in rows
    ]


def known_item_ids(session: Session, org_id: str, ids: Iterable[str]) -> set[str]:
    """Return which of ``ids`` the organization has already stored."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(SentimentItemRow.item_id).where(
                    SentimentItemRow.org_id == org_id, SentimentItemRow.item_id.in_(chunk)
                )
            ).all()
        )
    return found


def ingest_items(
    session: Session,
    org_id: str,
    items: Sequence[NewsItem],
    analyses: Mapping[str, Analysis],
    *,
    sentiment_version: int,
    topic_version: int | None = None,
    prediction_id: str | None = None,
    rules: Sequence[Rule] | None = None,
    clock: Clock | None = None,
    on_alert: Callable[[Session, str, Alert], object] | None = None,
) -> IngestResult:
    """Store scored items, then run the monitor's rules over the organization's items.

    Parameters
    ----------
    session : Session
        The caller's transaction (items, alerts and rule states commit with it).
    org_id : str
    items : sequence of NewsItem
    analyses : mapping of str to Analysis
        Item id → its analysis; every new item needs one.
    sentiment_version, topic_version : int
        Versions that scored them.
    prediction_id : str, optional
        The prediction log entry of the scoring.
    rules : sequence of Rule, optional
        Default: the organization's enabled rules
        (:func:`~baryon.solutions.sentiment.rules.monitor_rules`), or
        :func:`~baryon.solutions.sentiment.monitor.default_rules` when it made none.
    clock : Clock, optional
        "Now" of the rules (default: system clock).
    on_alert : callable, optional
        Called as ``on_alert(session, alert_id, alert)`` for each alert stored, in the
        same transaction (the delivery layer queues the alert's deliveries there).

    Returns
    -------
    IngestResult

    Raises
    ------
    InvalidInput
        An item published more than five minutes in the future (code
        ``published_in_future``), or a new item without an analysis.
    """
    clock = clock or SystemClock()
    now = clock.now()
    for item in items:
        if item.published_at > now + FUTURE_SLACK:
            raise InvalidInput(
                f"item {item.id!r} is published in the future ({item.published_at.isoformat()})",
                code="published_in_future",
            )
    known = known_item_ids(session, org_id, (i.id for i in items))
    fresh: list[NewsItem] = []
    duplicates: list[str] = []
    for item in items:
        if item.id in known:
            duplicates.append(item.id)
            continue
        known.add(item.id)
        fresh.append(item)
    for item in fresh:
        analysis = analyses.get(item.id)
        if analysis is None:
            raise InvalidInput(f"item {item.id!r} was not scored", code="not_scored")
        pk = new_id("item", clock)
        session.add(
            SentimentItemRow(
                id=pk,
                org_id=org_id,
                item_id=item.id,
                published_at=item.published_at,
                received_at=now,
                source=item.source,
                text=item.text,
                tickers=list(item.tickers),
                label=analysis.label,
                probabilities=analysis.probabilities,
                topic=analysis.topic,
                topic_probability=analysis.topic_probability,
                sentiment_version=sentiment_version,
                topic_version=topic_version,
                prediction_id=prediction_id,
            )
        )
        session.add_all(SentimentItemTickerRow(item_pk=pk, ticker=t) for t in item.tickers)
    session.flush()
    alerts: list[Alert] = []
    if fresh:
        first = session.scalar(
            select(func.min(SentimentItemRow.published_at)).where(SentimentItemRow.org_id == org_id)
        )
        if rules is None:
            from baryon.solutions.sentiment.rules import monitor_rules

            rules = monitor_rules(session, org_id)
        monitor = Monitor(rules, clock=clock, state=_load_rules_state(session, org_id), since=first)
        new_ids = {i.id for i in fresh}
        stored = _recent_items(session, org_id, now - monitor.horizon)
        monitor.add(i for i in stored if i.item_id not in new_ids)
        before = monitor.state
        alerts = monitor.observe([i for i in stored if i.item_id in new_ids], now=now)
        _save_states(session, org_id, before, monitor.state, now)
        for alert in alerts:
            alert_id = new_id("alert", clock)
            session.add(
                SentimentAlertRow(
                    id=alert_id,
                    org_id=org_id,
                    rule=alert.rule,
                    kind=alert.kind,
                    ticker=alert.ticker,
                    window=alert.window,
                    state=alert.state,
                    value=alert.value,
                    threshold=alert.threshold,
                    fired_at=alert.fired_at,
                    item_ids=list(alert.item_ids),
                    item_count=alert.item_count,
                )
            )
            if on_alert is not None:
                on_alert(session, alert_id, alert)
    return IngestResult([i.id for i in fresh], duplicates, alerts)


def _save_states(
    session: Session, org_id: str, before: dict[str, str], after: dict[str, str], now: datetime
) -> None:
    for key, state in after.items():
        if before.get(key) == state:
            continue
        row = session.get(SentimentRuleStateRow, (org_id, key))
        if row is None:
            session.add(SentimentRuleStateRow(org_id=org_id, key=key, state=state, updated_at=now))
        else:
            row.state, row.updated_at = state, now


def index_of(
    session: Session,
    org_id: str,
    *,
    window: str = "1h",
    ticker: str | None = None,
    end: datetime,
    level: float = 0.95,
) -> MoodIndex:
    """The organization's mood index over ``(end - window, end]`` (see the monitor).

    Raises
    ------
    InvalidInput
        Unknown window (``unknown_window``) or ticker (``invalid_ticker``).
    """
    start = end - parse_window(window)
    ticker = normalise_ticker(ticker)
    query = select(SentimentItemRow.label, func.count()).where(
        SentimentItemRow.org_id == org_id,
        SentimentItemRow.published_at > start,
        SentimentItemRow.published_at <= end,
    )
    if ticker is not None:
        query = query.join(
            SentimentItemTickerRow, SentimentItemTickerRow.item_pk == SentimentItemRow.id
        ).where(SentimentItemTickerRow.ticker == ticker)
    counts = {
        str(label): int(count)
        for label, count in session.execute(query.group_by(SentimentItemRow.label))
    }
    return MoodIndex.from_counts(
        ticker=ticker,
        window=window,
        start=start,
        end=end,
        n=int(sum(counts.values())),
        bullish=int(counts.get(BULLISH, 0)),
        bearish=int(counts.get(BEARISH, 0)),
        level=level,
    )


def index_history(
    session: Session,
    org_id: str,
    *,
    window: str = "1h",
    ticker: str | None = None,
    end: datetime,
    points: int = 24,
    level: float = 0.95,
) -> list[MoodIndex]:
    """The mood index at ``points`` window ends, one window apart, oldest first.

    Point *i* is the index over ``(end - (points - i) * window, end - (points - 1 - i)
    * window]``, what :func:`index_of` gives for that window end: with ``window="1h"``
    and 24 points, the last day hour by hour (the windows do not overlap). One query
    reads the items of the whole span; each window's index is
    :meth:`~baryon.solutions.sentiment.monitor.MoodIndex.from_counts` of its counts.

    Parameters
    ----------
    points : int
        Number of windows, 1 to 200.

    Raises
    ------
    InvalidInput
        ``unknown_window``, ``invalid_ticker``, or ``invalid_points``.
    """
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 200:
        raise InvalidInput("points must be from 1 to 200", code="invalid_points")
    step = parse_window(window)
    ticker = normalise_ticker(ticker)
    query = select(SentimentItemRow.published_at, SentimentItemRow.label).where(
        SentimentItemRow.org_id == org_id,
        SentimentItemRow.published_at > end - points * step,
        SentimentItemRow.published_at <= end,
    )
    if ticker is not None:
        query = query.join(
            SentimentItemTickerRow, SentimentItemTickerRow.item_pk == SentimentItemRow.id
        ).where(SentimentItemTickerRow.ticker == ticker)
    counts = [[0, 0, 0] for _ in range(points)]  # n, bullish, bearish per window
    step_us = step // timedelta(microseconds=1)
    for published_at, label in session.execute(query):
        # back = k (0: the latest window) for end - (k + 1) * step < t <= end - k * step
        back = ((end - _as_utc(published_at)) // timedelta(microseconds=1)) // step_us
        i = points - 1 - back
        if 0 <= i < points:
            counts[i][0] += 1
            counts[i][1] += label == BULLISH
            counts[i][2] += label == BEARISH
    return [
        MoodIndex.from_counts(
            ticker=ticker,
            window=window,
            start=end - (points - i) * step,
            end=end - (points - 1 - i) * step,
            n=n,
            bullish=bullish,
            bearish=bearish,
            level=level,
        )
        for i, (n, bullish, bearish) in enumerate(counts)
    ]


def known_tickers(session: Session, org_id: str, *, limit: int = 50) -> list[tuple[str, int]]:
    """The organization's tickers with their item counts, most mentioned first.

    Returns
    -------
    list of (str, int)
        At most ``limit`` (ticker, items) pairs; ties by ticker.
    """
    count = func.count().label("n")
    rows = session.execute(
        select(SentimentItemTickerRow.ticker, count)
        .join(SentimentItemRow, SentimentItemRow.id == SentimentItemTickerRow.item_pk)
        .where(SentimentItemRow.org_id == org_id)
        .group_by(SentimentItemTickerRow.ticker)
        .order_by(count.desc(), SentimentItemTickerRow.ticker)
        .limit(limit)
    )
    return [(str(ticker), int(n)) for ticker, n in rows]


def count_alerts(session: Session, org_id: str, *, ticker: str | None = None) -> int:
    """How many alerts :func:`list_alerts` would list without a limit."""
    query = select(func.count()).select_from(SentimentAlertRow)
    query = query.where(SentimentAlertRow.org_id == org_id)
    ticker = normalise_ticker(ticker)
    if ticker is not None:
        query = query.where(SentimentAlertRow.ticker == ticker)
    return int(session.scalar(query) or 0)


def item_span(session: Session, org_id: str) -> tuple[datetime, datetime] | None:
    """When the organization's first and latest stored items were published (UTC), or
    ``None`` without items."""
    first, last = session.execute(
        select(
            func.min(SentimentItemRow.published_at), func.max(SentimentItemRow.published_at)
        ).where(SentimentItemRow.org_id == org_id)
    ).one()
    if first is None or last is None:
        return None
    return _as_utc(first), _as_utc(last)


def _item_dict(row: SentimentItemRow) -> dict[str, Any]:
    return {
        "id": row.item_id,
        "published_at": row.published_at.isoformat(),
        "source": row.source,
        "text": row.text,
        "tickers": list(row.tickers or ()),
        "label": row.label,
        "topic": row.topic,
    }


def list_alerts(
    session: Session,
    org_id: str,
    *,
    ticker: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    items_per_alert: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The organization's alerts, newest first, each with (up to) the items that caused it.

    Parameters
    ----------
    ticker : str, optional
        Only alerts of this ticker's scope.
    since : datetime, optional
        Only alerts fired after this time.
    limit : int
        Most alerts returned.
    items_per_alert : int
        Most causing items returned per alert (``item_count`` says how many there were).
    offset : int
        Alerts of that order to pass over first (a page's start).
    """
    query = select(SentimentAlertRow).where(SentimentAlertRow.org_id == org_id)
    ticker = normalise_ticker(ticker)
    if ticker is not None:
        query = query.where(SentimentAlertRow.ticker == ticker)
    if since is not None:
        query = query.where(SentimentAlertRow.fired_at > since)
    rows = session.scalars(
        query.order_by(SentimentAlertRow.fired_at.desc(), SentimentAlertRow.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    wanted = {i for r in rows for i in list(r.item_ids)[:items_per_alert]}
    items: dict[str, dict[str, Any]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        for item in session.scalars(
            select(SentimentItemRow).where(
                SentimentItemRow.org_id == org_id,
                SentimentItemRow.item_id.in_(ids[start : start + 500]),
            )
        ):
            items[item.item_id] = _item_dict(item)
    out = []
    for r in rows:
        alert = Alert(
            rule=r.rule,
            kind=r.kind,
            ticker=r.ticker,
            window=r.window,
            state=r.state,
            value=r.value,
            threshold=r.threshold,
            fired_at=r.fired_at,
            item_ids=tuple(r.item_ids),
            item_count=r.item_count,
        )
        body = alert.to_dict()
        body["id"] = r.id
        body["items"] = [items[i] for i in list(r.item_ids)[:items_per_alert] if i in items]
        out.append(body)
    return out


# ------------------------------------------------------------------- replay
@dataclass(frozen=True)
class ReplaySummary:
    """Outcome of :func:`replay`.

    Attributes
    ----------
    items, duplicates : int
        Items replayed, and ids seen before (skipped).
    alerts : list of Alert
    index : MoodIndex
        The all-items index of the first rule's window at the feed's last time.
    labels : dict of str to int
        Items per sentiment label.
    """

    items: int
    duplicates: int
    alerts: list[Alert]
    index: MoodIndex | None
    labels: dict[str, int]


def replay(
    items: Sequence[NewsItem],
    scorer: SentimentScorer,
    *,
    rules: Sequence[Rule] | None = None,
    speed: float = 0.0,
    sleep: Callable[[float], None] | None = None,
    on_alert: Callable[[Alert, dict[str, NewsItem]], None] | None = None,
) -> ReplaySummary:
    """Replay a dated feed through an in-memory monitor, oldest item first.

    The monitor's clock is the feed's time: it moves to each item's
    ``published_at`` before the item is observed.

    Parameters
    ----------
    items : sequence of NewsItem
    scorer : SentimentScorer
    rules : sequence of Rule, optional
    speed : float
        0 replays as fast as possible; ``N > 0`` waits ``gap / N`` seconds between
        items whose times are ``gap`` seconds apart (``1`` is real time, ``60`` plays an
        hour in a minute).
    sleep : callable, optional
        Called with the seconds to wait (default :func:`time.sleep`).
    on_alert : callable, optional
        Called with each alert as it fires, and the items by id.

    Raises
    ------
    InvalidInput
        Negative ``speed`` (code ``invalid_speed``) or no items.
    """
    if speed < 0:
        raise InvalidInput("speed must be 0 (no waiting) or positive", code="invalid_speed")
    wait = sleep or time.sleep
    ordered = sorted(items, key=lambda i: i.published_at)
    if not ordered:
        raise InvalidInput("the feed holds no items", code="empty_file")
    by_id = {i.id: i for i in ordered}
    analyses = scorer.analyze([i.text for i in ordered])
    clock = FixedClock(ordered[0].published_at)
    monitor = Monitor(rules, clock=clock)
    fired: list[Alert] = []
    labels = dict.fromkeys(SENTIMENT_LABELS, 0)
    duplicates = 0
    for item, analysis in zip(ordered, analyses, strict=True):
        gap = (item.published_at - clock.now()).total_seconds()
        if gap > 0:
            if speed > 0:
                wait(gap / speed)
            clock.advance(gap)
        scored = ScoredItem(
            item.id, item.published_at, analysis.label, item.tickers, analysis.topic
        )
        if scored.item_id in monitor:
            duplicates += 1
            continue
        labels[analysis.label] += 1
        for alert in monitor.observe([scored]):
            fired.append(alert)
            if on_alert is not None:
                on_alert(alert, by_id)
        monitor.prune()
    window = monitor.rules[0].window if monitor.rules else "1h"
    return ReplaySummary(
        items=len(ordered) - duplicates,
        duplicates=duplicates,
        alerts=fired,
        index=monitor.index(window=window),
        labels=labels,
    )
