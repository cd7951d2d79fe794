"""Request and response bodies of the solution routes (pydantic v2).

The support assistant (``/v1/support``), the sentiment monitor (``/v1/sentiment``) and
the recommender (``/v1/recommendations``, ``/v1/events``). Kept apart from
:mod:`baryon.serving.schemas` (the platform's bodies) so that both stay small; both
import nothing but pydantic and constants, so :mod:`baryon.client` types its answers
with them without loading the app. As there, requests refuse unknown fields
(``extra="forbid"``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from baryon.serving.fields import (
    MAX_SAFE_INTEGER,
    NON_BLANK,
    NonBlank,
    Timestamp,
    WholeNumber,
    named,
)
from baryon.solutions.recommender.tables import MAX_ID_CHARS
from baryon.solutions.sentiment.tables import TICKER_PATTERN
from baryon.solutions.support.tables import MAX_CONVERSATION_ID_CHARS

__all__ = [
    "AlertItem",
    "AlertOut",
    "AnalyzeRequest",
    "AnalyzeResponse",
    "AnalyzeResult",
    "Band",
    "EventOut",
    "EventRequest",
    "IndexResponse",
    "ItemsRequest",
    "ItemsResponse",
    "NewsItemIn",
    "RecommendationsResponse",
    "RecommendedItem",
    "ScoredItemOut",
    "SupportAnswerRequest",
    "SupportAnswerResponse",
    "Usage",
]


#: A ticker as the sentiment monitor stores it (``$aapl`` reads as ``AAPL``).
Ticker = Annotated[
    str,
    Field(pattern=f"^\\$?{TICKER_PATTERN}$"),
    named("invalid_ticker", "not a ticker: letters and digits, e.g. AAPL or BRK.B"),
]


#: A user or item id of an event: 1 to 200 characters, not all white space.
EventId = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_CHARS, pattern=NON_BLANK),
    named("invalid_event", f"an id has 1 to {MAX_ID_CHARS} characters"),
]

#: A numeric user or item id (stored as its decimal text).
EventNumber = Annotated[StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER), WholeNumber]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -------------------------------------------------------------------- support
class SupportAnswerRequest(_Request):
    """``POST /v1/support/answer``: one customer message."""

    text: NonBlank = Field(
        description="The customer's message (at most max_text_chars characters)."
    )
    conversation_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CONVERSATION_ID_CHARS,
        description="Groups the turns of one conversation (hand-offs are listed by it).",
    )
    request_id: str | None = Field(
        default=None, max_length=200, description="Sticky champion/challenger choice."
    )


class Usage(BaseModel):
    """Units metered for this request and the organization's quota."""

    units: int
    quota: int
    used: int
    remaining: int


class SupportAnswerResponse(BaseModel):
    """The assistant's answer, or its hand-off to a human."""

    intent: str = Field(description="Most probable intent (a best guess when handed off).")
    confidence: float = Field(description="Its probability, in [0, 1].")
    answer: str = Field(description="The intent's answer, or the hand-off message.")
    handoff: bool = Field(description="True when a human takes over this turn.")
    handoff_reason: str | None = Field(
        description="out_of_scope, low_confidence or no_answer; null when answered."
    )
    prediction_id: str
    model: str
    model_version: int
    usage: Usage


# ------------------------------------------------------------------ sentiment
class AnalyzeRequest(_Request):
    """``POST /v1/sentiment/analyze``: texts to score (at most ``max_batch_size``)."""

    texts: Annotated[
        list[NonBlank],
        Field(min_length=1),
        named("empty_batch", "texts is empty: send at least one text", only=("too_short",)),
    ] = Field(description="Texts to score, one result each.")
    request_id: str | None = Field(default=None, max_length=200)


class AnalyzeResult(BaseModel):
    """Sentiment and topic of one text."""

    label: str = Field(description="Bearish, Bullish or Neutral.")
    probabilities: dict[str, float]
    topic: str | None
    topic_probability: float | None


class AnalyzeResponse(BaseModel):
    """Results in input order, with the prediction log ids and model versions."""

    prediction_id: str
    model_version: int
    topic_prediction_id: str | None
    topic_model_version: int | None
    results: list[AnalyzeResult]
    usage: dict[str, int]


class NewsItemIn(_Request):
    """One news item."""

    id: str = Field(min_length=1, max_length=200, description="The publisher's id.")
    published_at: Timestamp = Field(description="RFC 3339 with an offset: 2026-01-01T09:30:00Z.")
    source: str = Field(default="", max_length=200)
    text: NonBlank
    tickers: list[Ticker] = Field(
        default_factory=list, description="Symbols; default: the text's $TICKER tokens."
    )


class ItemsRequest(_Request):
    """``POST /v1/sentiment/items``: news items to score and store."""

    items: Annotated[
        list[NewsItemIn],
        Field(min_length=1),
        named("empty_batch", "items is empty: send at least one item", only=("too_short",)),
    ]


class ScoredItemOut(BaseModel):
    """A stored item and its scores."""

    id: str
    published_at: AwareDatetime
    tickers: list[str]
    label: str
    probabilities: dict[str, float]
    topic: str | None
    topic_probability: float | None


class ItemsResponse(BaseModel):
    """What was stored, what was a duplicate, and the alerts the items fired."""

    prediction_id: str | None
    model_version: int | None
    topic_prediction_id: str | None
    topic_model_version: int | None
    accepted: int
    duplicates: list[str]
    items: list[ScoredItemOut]
    alerts: list[dict[str, Any]]
    usage: dict[str, int]


class Band(BaseModel):
    """Confidence band of the index."""

    low: float
    high: float
    level: float


class IndexResponse(BaseModel):
    """The mood index of one window."""

    ticker: str | None
    window: str
    start: AwareDatetime
    end: AwareDatetime
    n: int
    bullish: int
    bearish: int
    neutral: int
    index: float | None
    band: Band
    formula: str


class AlertItem(BaseModel):
    """An item that caused an alert."""

    id: str
    published_at: AwareDatetime
    source: str
    text: str
    tickers: list[str]
    label: str
    topic: str | None


class AlertOut(BaseModel):
    """A fired alert and (up to ``items_per_alert`` of) the items that caused it."""

    id: str
    rule: str
    kind: str
    ticker: str | None
    window: str
    state: str
    value: float
    threshold: float
    fired_at: AwareDatetime
    message: str
    item_ids: list[str]
    item_count: int
    items: list[AlertItem]


# ---------------------------------------------------------------- recommender
class RecommendedItem(BaseModel):
    """One recommended wine."""

    item_id: Any = Field(description="X-Wines WineID.")
    score: float | None
    wine_name: str | None
    type: str | None
    country: str | None
    grapes: list[str]
    region: str | None
    winery: str | None


class RecommendationsResponse(BaseModel):
    """Top wines for one user, best first."""

    prediction_id: str
    model_version: int
    user_id: str
    cold_start: bool
    strategy: Literal["model", "content", "popularity"]
    items: list[RecommendedItem]
    usage: dict[str, int]


class EventRequest(_Request):
    """``POST /v1/events``: one interaction; a ``rate`` has a ``value`` from 1 to 5, a
    ``view`` or ``click`` none (``missing_value``, ``value_not_allowed``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["value"],
                    "properties": {
                        "type": {"const": "rate"},
                        "value": {"type": "number", "minimum": 1, "maximum": 5},
                    },
                },
                {
                    "properties": {
                        "type": {"enum": ["view", "click"]},
                        "value": {"type": "null"},
                    },
                },
            ]
        },
    )

    user_id: EventId | EventNumber = Field(
        description="Your user's id (X-Wines UserID for known users)."
    )
    item_id: EventId | EventNumber = Field(description="X-Wines WineID.")
    type: Literal["view", "click", "rate"]
    value: StrictFloat | None = Field(
        default=None, allow_inf_nan=False, description="Rating 1-5; only for type rate."
    )

    @model_validator(mode="after")
    def _value_for_rate_only(self) -> EventRequest:
        if self.type == "rate" and self.value is None:
            raise PydanticCustomError("missing_value", "a rate event needs a value (1 to 5)")
        if self.type == "rate" and not 1 <= self.value <= 5:  # type: ignore[operator]
            raise PydanticCustomError("value_out_of_range", "value must be from 1 to 5")
        if self.type != "rate" and self.value is not None:
            raise PydanticCustomError("value_not_allowed", "only a rate event has a value")
        return self


class EventOut(BaseModel):
    """A stored event."""

    id: str
    user_id: str
    item_id: str
    type: str
    value: float | None
    at: AwareDatetime
