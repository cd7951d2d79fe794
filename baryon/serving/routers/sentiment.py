"""Financial sentiment and topic monitor: analyze texts, ingest news items, index, alerts.

=======================================  ====================  =======================
route                                    permission            metered
=======================================  ====================  =======================
``POST /v1/sentiment/analyze``           ``models:predict``    1 unit per text
``POST /v1/sentiment/items``             ``models:predict``    1 unit per new item
``GET  /v1/sentiment/index``             ``predictions:read``  no
``GET  /v1/sentiment/alerts``            ``predictions:read``  no
``POST /v1/sentiment/subscriptions``     ``schedules:write``   no
=======================================  ====================  =======================

Scoring routes work like ``POST /v1/models/{name}/predict``: the models (``sentiment``
and, if registered, ``topic``; champion or the organization's traffic split) run
outside any transaction, then the metered commit path
(:class:`~baryon.serving.routers._metered.MeteredCall`, shared by every metered
route) replays a stored ``Idempotency-Key`` response or, in one transaction, takes
the request's units of quota (one per text scored, times the plan's weight for the
route; an item id sent before is not scored and costs nothing), logs one prediction
per model, writes what the route stores (items, alerts) and the usage record. Items,
index and alerts belong to the caller's organization.

``POST /v1/sentiment/subscriptions`` makes a feed source whose runs score and index
new items (:mod:`baryon.solutions.sentiment.subscriptions`) and its schedule; the
worker fetches it (items ingested this way are not metered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import Field
from starlette.responses import Response

from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady, NotFound
from baryon.labeling.sources import Scored, queue_unsure, select_unsure
from baryon.predictions.inference import ServedModel
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey, OneOf, Timestamp, named
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes
from baryon.serving.routers._metered import Logged, MeteredCall, Transaction, choose_model
from baryon.serving.routers.predictions import check_caps
from baryon.serving.solution_schemas import (
    AlertOut,
    AnalyzeRequest,
    AnalyzeResponse,
    IndexResponse,
    ItemsRequest,
    ItemsResponse,
)
from baryon.serving.source_schemas import SubscriptionOut, SubscriptionRequest
from baryon.solutions.sentiment.delivery import alert_sender
from baryon.solutions.sentiment.monitor import WINDOWS
from baryon.solutions.sentiment.service import (
    FUTURE_SLACK,
    Analysis,
    NewsItem,
    ScoringModel,
    SentimentScorer,
    index_of,
    ingest_items,
    known_item_ids,
    list_alerts,
    parse_item,
)
from baryon.solutions.sentiment.subscriptions import subscribe
from baryon.solutions.sentiment.tables import TICKER_PATTERN

__all__ = ["router"]

#: A ticker to filter on; empty means every ticker.
TickerFilter = Annotated[
    str,
    Field(pattern=f"^(?:\\$?{TICKER_PATTERN})?$"),
    named("invalid_ticker", "not a ticker: letters and digits, e.g. AAPL or BRK.B"),
]
router = APIRouter(prefix="/v1/sentiment", tags=["sentiment"], responses=PROBLEMS)

INDEX_FORMULA = (
    "index = (bullish - bearish) / n over (end - window, end]; band: adjusted Wald interval "
    "for a difference of two multinomial proportions (Agresti & Min 2005): add 0.5 to "
    "bullish and bearish and 2 to n, then d +/- z*sqrt((p_b + p_r - d^2)/(n+2)), clipped to [-1, 1]"
)


# ------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class _Models:
    scorer: SentimentScorer
    sentiment: ServedModel
    sentiment_variant: str
    topic: ServedModel | None
    topic_variant: str


def _scoring_model(served: ServedModel) -> ScoringModel:
    names = served.extra.get("label_names") or {}
    return ScoringModel(
        served.name,
        served.version,
        served.estimator,
        {str(k): str(v) for k, v in names.items()},
    )


def _load_models(state: AppState, principal: Principal, request_id: str | None) -> _Models:
    sentiment, s_variant = choose_model(state, principal, "sentiment", request_id)
    topic: ServedModel | None
    try:
        topic, t_variant = choose_model(state, principal, "topic", request_id)
    except (NotFound, ModelNotReady):
        topic, t_variant = None, "champion"
    scorer = SentimentScorer(
        _scoring_model(sentiment), None if topic is None else _scoring_model(topic)
    )
    return _Models(scorer, sentiment, s_variant, topic, t_variant)


def _score(state: AppState, models: _Models, texts: list[str]) -> list[Analysis]:
    try:
        return models.scorer.analyze(texts)
    except BaryonError:
        raise
    except Exception:
        raise BaryonError(
            "the sentiment model failed on this request", code="prediction_failed"
        ) from None


def _logs(models: _Models, texts: list[str], analyses: list[Analysis]) -> list[Logged]:
    logs = [
        Logged(
            models.sentiment,
            models.sentiment_variant,
            list(texts),
            [{"label": a.label, "probabilities": a.probabilities} for a in analyses],
        )
    ]
    if models.topic is not None:
        logs.append(
            Logged(
                models.topic,
                models.topic_variant,
                list(texts),
                [{"label": a.topic, "probability": a.topic_probability} for a in analyses],
            )
        )
    return logs


def _unsure(
    state: AppState,
    principal: Principal,
    models: _Models,
    texts: list[str],
    analyses: list[Analysis],
) -> tuple[list[Scored], list[Scored]]:
    """The texts scored with low confidence, for the sentiment and the topic queue."""
    mode, default = principal.prediction_inputs, state.settings.labeling_threshold
    pairs = list(zip(texts, analyses, strict=True))
    moods = [Scored({"text": t}, a.label, a.probabilities[a.label]) for t, a in pairs]
    topics = [
        Scored({"text": t}, a.topic, a.topic_probability)
        for t, a in pairs
        if a.topic is not None and a.topic_probability is not None
    ]
    return (
        select_unsure(models.sentiment, moods, input_mode=mode, default_threshold=default),
        []
        if models.topic is None
        else select_unsure(models.topic, topics, input_mode=mode, default_threshold=default),
    )


def _queue_unsure(
    tx: Transaction,
    state: AppState,
    principal: Principal,
    models: _Models,
    unsure: tuple[list[Scored], list[Scored]],
    ids: list[str | None],
) -> None:
    """Queue :func:`_unsure`'s texts for labeling, in the request's transaction."""
    moods, topics = unsure
    if moods:  # the sentiment queue's classes are the label names the route answers
        names = sorted(set(models.scorer.sentiment.label_names.values()))
        queue_unsure(
            tx.session, models.sentiment, moods, prediction_id=ids[0], org_id=principal.org_id,
            clock=state.clock, classes=names,
        )  # fmt: skip
    if topics and models.topic is not None and len(ids) > 1:
        queue_unsure(
            tx.session, models.topic, topics, prediction_id=ids[1], org_id=principal.org_id,
            clock=state.clock,
        )  # fmt: skip


def _check_texts(texts: list[Any], state: AppState) -> None:
    check_caps(list(texts), state.settings)  # empty texts and batches: the schema's


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    responses=problems("model_not_ready", "missing_dependency"),
)
def analyze(
    body: AnalyzeRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    x_request_id: str | None = Header(None, max_length=200),
    principal: Principal = require("models:predict"),
    state: AppState = Depends(get_state),
) -> Response:
    """Sentiment (label and class probabilities) and topic of each text.

    Metered at one unit per text (times the plan's weight for this route). An empty
    batch is a 422 (``empty_batch``); more than ``max_batch_size`` texts a 413
    (``batch_too_large``); a text over ``max_text_chars`` a 422 (``text_too_long``).
    """
    request_id = body.request_id or x_request_id
    call = MeteredCall(
        state, principal, request, body=body, idempotency_key=idempotency_key,
        request_id=request_id,
    )  # fmt: skip
    _check_texts(body.texts, state)
    try:
        models = _load_models(state, principal, request_id)
        analyses = _score(state, models, body.texts)
    except BaryonError as exc:
        return call.fail(exc)

    unsure = _unsure(state, principal, models, body.texts, analyses)

    def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
        _queue_unsure(tx, state, principal, models, unsure, ids)
        return {
            "prediction_id": ids[0],
            "model_version": models.sentiment.version,
            "topic_prediction_id": ids[1] if len(ids) > 1 else None,
            "topic_model_version": None if models.topic is None else models.topic.version,
            "results": [a.to_dict() for a in analyses],
        }

    return call.commit(
        inputs=len(body.texts), logs=_logs(models, body.texts, analyses), answer=answer
    )


def _parse_items(body: ItemsRequest, state: AppState) -> list[NewsItem]:
    check_caps([i.text for i in body.items], state.settings)
    parsed = []
    latest = state.clock.now() + FUTURE_SLACK
    for position, raw in enumerate(body.items):
        try:
            item = parse_item(raw.model_dump(), max_text_chars=state.settings.max_text_chars)
            if item.published_at > latest:
                raise InvalidInput(
                    f"item {item.id!r} is published in the future", code="published_in_future"
                )
            parsed.append(item)
        except InvalidInput as exc:
            raise InvalidInput(
                f"items[{position}]: {exc.message}", code=exc.code, details={"index": position}
            ) from None
    return parsed


@router.post(
    "/items",
    response_model=ItemsResponse,
    responses=problems("model_not_ready", "missing_dependency", "published_in_future"),
)
def post_items(
    body: ItemsRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    x_request_id: str | None = Header(None, max_length=200),
    principal: Principal = require("models:predict"),
    state: AppState = Depends(get_state),
) -> Response:
    """Score and store news items; run the alert rules over the organization's items.

    Metered at one unit per new item scored (times the plan's weight for this route).
    An item id the organization sent before (or twice in one batch) is listed in
    ``duplicates`` and neither scored, charged nor counted again.
    """
    call = MeteredCall(
        state, principal, request, body=body, idempotency_key=idempotency_key,
        request_id=x_request_id,
    )  # fmt: skip
    items = _parse_items(body, state)
    with state.transaction(principal.own_scope) as session:
        known = known_item_ids(session, principal.org_id, (i.id for i in items))
    fresh: dict[str, NewsItem] = {}
    for item in items:
        if item.id not in known:
            fresh.setdefault(item.id, item)
    try:
        models = _load_models(state, principal, x_request_id)
        analyses = _score(state, models, [i.text for i in fresh.values()])
    except BaryonError as exc:
        return call.fail(exc)
    by_id = dict(zip(fresh, analyses, strict=True))
    texts = [i.text for i in fresh.values()]
    unsure = _unsure(state, principal, models, texts, analyses)

    def answer(tx: Transaction, ids: list[str | None]) -> dict[str, Any]:
        result = ingest_items(
            tx.session,
            principal.org_id,
            items,
            by_id,
            sentiment_version=models.sentiment.version,
            topic_version=None if models.topic is None else models.topic.version,
            prediction_id=ids[0],
            clock=state.clock,
            on_alert=alert_sender(state.jobs, org_id=principal.org_id, clock=state.clock),
        )
        _queue_unsure(tx, state, principal, models, unsure, ids)
        accepted = set(result.accepted)
        return {
            "prediction_id": ids[0],
            "model_version": models.sentiment.version if fresh else None,
            "topic_prediction_id": ids[1] if len(ids) > 1 else None,
            "topic_model_version": (
                models.topic.version if fresh and models.topic is not None else None
            ),
            "accepted": len(result.accepted),
            "duplicates": result.duplicates,
            "items": [
                {
                    "id": i.id,
                    "published_at": i.published_at,
                    "tickers": list(i.tickers),
                    **by_id[i.id].to_dict(),
                }
                for i in fresh.values()
                if i.id in accepted
            ],
            "alerts": [a.to_dict() for a in result.alerts],
        }

    return call.commit(inputs=len(texts), logs=_logs(models, texts, analyses), answer=answer)


@router.get("/index", response_model=IndexResponse)
def get_index(
    ticker: TickerFilter | None = Query(None, description="e.g. AAPL (default: all)."),
    window: Annotated[str, Query(), OneOf(WINDOWS, "unknown_window", "window")] = "1h",
    at: Timestamp | None = Query(None, description="End of the window (default: now)."),
    principal: Principal = require("predictions:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """The rolling mood index ``(bullish - bearish) / n`` with ``n`` and a 95 % band.

    An unknown window is a 422 (``unknown_window``).
    """
    end = state.clock.now() if at is None else at
    with state.transaction(principal.own_scope) as session:
        idx = index_of(session, principal.org_id, window=window, ticker=ticker, end=end)
    return {**idx.to_dict(), "formula": INDEX_FORMULA}


@router.get("/alerts", response_model=list[AlertOut])
def get_alerts(
    ticker: TickerFilter | None = Query(None, description="e.g. AAPL (default: all)."),
    since: Timestamp | None = Query(None, description="Only alerts fired after this time."),
    limit: int = Query(50, ge=1, le=500),
    items_per_alert: int = Query(20, ge=0, le=200),
    principal: Principal = require("predictions:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """Alerts fired by the rules (index crossing, index change, volume spike), newest first."""
    with state.transaction(principal.own_scope) as session:
        return list_alerts(
            session,
            principal.org_id,
            ticker=ticker,
            since=since,
            limit=limit,
            items_per_alert=items_per_alert,
        )


@router.post(
    "/subscriptions",
    response_model=SubscriptionOut,
    status_code=201,
    responses=problems(
        "source_exists", "invalid_url", "ambiguous_host", "interval_too_short", "invalid_cron"
    ),
)
def post_subscription(
    body: SubscriptionRequest,
    principal: Principal = require("schedules:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Subscribe the monitor to a feed fetched ``every`` interval or on ``cron``.

    Bad input writes nothing: ``invalid_url``, ``ambiguous_host``, ``invalid_ticker``,
    ``invalid_interval``, ``interval_too_short``, ``invalid_cron``, ``invalid_schedule``
    (422); an existing subscription of that name is a 409 (``source_exists``).
    """
    made = subscribe(
        state.workspace_for(principal.org_id), body.url, every=body.every, cron=body.cron,
        tickers=body.tickers, name=body.name, actor=principal.actor,
    )  # fmt: skip
    return Response(json_bytes(made), media_type="application/json", status_code=201)
