"""Request and response bodies of the alert rule and delivery routes (pydantic v2).

``/v1/sentiment/rules``, ``/v1/sentiment/channels`` and ``/v1/sentiment/deliveries``.
Imports pydantic and the field rules' constants only, so :mod:`baryon.client` types its
answers with them without loading the app. Requests refuse unknown fields
(``extra="forbid"``) and state their rules in the schema (kinds, windows and directions
as enums, names and tickers as patterns, ranges), each with its named code; what
depends on two fields (a threshold's range and a direction for the rule's kind, a
channel's target for its kind) is checked by the domain code, 422 ``invalid_rule``,
``invalid_webhook_url``, ``invalid_email``. What the
fields mean: :mod:`baryon.solutions.sentiment.rules`,
:mod:`baryon.solutions.sentiment.delivery` and ``docs/alerts.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from baryon.serving.fields import OneOf, Timestamp, WholeNumber, named
from baryon.serving.solution_schemas import Ticker
from baryon.solutions.sentiment.monitor import DIRECTIONS, WINDOWS
from baryon.solutions.sentiment.tables import ALERT_NAME_PATTERN, CHANNEL_KINDS

__all__ = [
    "ChannelCreatedOut",
    "ChannelOut",
    "ChannelRequest",
    "DeliveryOut",
    "FiredOut",
    "RuleOut",
    "RuleRequest",
    "RuleTestOut",
    "RuleTestRequest",
]

_NAME_MESSAGE = "1-200 letters, digits, '.', '_' or '-', starting with a letter or digit"
#: A rule's name (``invalid_rule_name``) and a channel's (``invalid_channel_name``).
RuleName = Annotated[
    str, Field(pattern=f"^{ALERT_NAME_PATTERN}$"), named("invalid_rule_name", _NAME_MESSAGE)
]
ChannelName = Annotated[
    str, Field(pattern=f"^{ALERT_NAME_PATTERN}$"), named("invalid_channel_name", _NAME_MESSAGE)
]
_DIRECTIONS = ("both", *dict.fromkeys(d for ds in DIRECTIONS.values() for d in ds))


class RuleRequest(BaseModel):
    """``POST /v1/sentiment/rules``: a rule over one scope's mood index or volume."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, OneOf(DIRECTIONS, "unknown_rule_kind", "a rule's kind")]
    threshold: Annotated[
        StrictFloat,
        Field(allow_inf_nan=False, gt=0, le=1000),
        named("invalid_rule", "threshold is a number above 0 and at most 1000"),
    ] = Field(
        description="Index level t in (0, 1), change d in (0, 2), or spike factor in (1, 1000]."
    )
    window: Annotated[str, OneOf(WINDOWS, "unknown_window", "window")] = "1h"
    ticker: Ticker | None = Field(default=None, description="Default: all items.")
    direction: Annotated[str, OneOf(_DIRECTIONS, "invalid_rule", "direction")] = Field(
        default="both", description="both; above or below (crossing); up or down (change)."
    )
    min_items: Annotated[
        StrictInt,
        Field(ge=1, le=100_000),
        WholeNumber,
        named("invalid_rule", "min_items is an integer from 1 to 100000"),
    ] = Field(default=10, description="Items the window needs before it fires.")
    baseline_windows: (
        Annotated[
            StrictInt,
            Field(ge=1, le=168),
            WholeNumber,
            named("invalid_rule", "baseline_windows is an integer from 1 to 168"),
        ]
        | None
    ) = Field(default=None, description="Volume spike only: windows in the baseline (default 6).")
    name: RuleName | None = Field(default=None, description="Default: kind-window-scope-threshold.")
    enabled: StrictBool = True


class RuleOut(BaseModel):
    """One alert rule."""

    id: str
    org_id: str
    name: str
    kind: str
    window: str
    ticker: str | None
    direction: str
    threshold: float
    min_items: int
    baseline_windows: int | None
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class RuleTestRequest(BaseModel):
    """``POST /v1/sentiment/rules/{rule}/test``: the span to replay (default: last 7 days)."""

    model_config = ConfigDict(extra="forbid")

    start: Timestamp | None = Field(default=None, description="Default: end minus 7 days.")
    end: Timestamp | None = Field(default=None, description="Default: now.")


class FiredOut(BaseModel):
    """One time a rule fired (or would have)."""

    rule: str
    kind: str
    ticker: str | None
    window: str
    state: str
    value: float
    threshold: float
    fired_at: datetime
    message: str
    item_ids: list[str]
    item_count: int


class RuleTestOut(BaseModel):
    """When a rule would have fired over the organization's stored items."""

    rule: RuleOut
    start: datetime
    end: datetime
    fired: list[FiredOut]


class ChannelRequest(BaseModel):
    """``POST /v1/sentiment/channels``: a signed webhook or an e-mail address."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, OneOf(CHANNEL_KINDS, "unknown_channel_kind", "a channel's kind")]
    target: str = Field(
        min_length=1, max_length=2048, description="The http(s) URL or the e-mail address."
    )
    name: ChannelName | None = Field(default=None, description="Default: kind and host.")


class ChannelOut(BaseModel):
    """One delivery channel (never its secret)."""

    id: str
    org_id: str
    name: str
    kind: str
    target: str
    enabled: bool
    has_secret: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class ChannelCreatedOut(BaseModel):
    """A channel just made, with its webhook signing secret: shown this once."""

    channel: ChannelOut
    secret: str | None = Field(description="whsec_…: signs every webhook; not shown again.")


class DeliveryOut(BaseModel):
    """One alert (or test alert) to one channel, and its attempts."""

    id: str
    org_id: str
    channel_id: str
    alert_id: str | None
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    job_id: str | None
    last_error_code: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
