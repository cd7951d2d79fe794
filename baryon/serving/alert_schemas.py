"""Request and response bodies of the alert rule and delivery routes (pydantic v2).

``/v1/sentiment/rules``, ``/v1/sentiment/channels`` and ``/v1/sentiment/deliveries``.
Imports nothing but pydantic, so :mod:`baryon.client` types its answers with them
without loading the app. Requests refuse unknown fields (``extra="forbid"``). What the
fields mean: :mod:`baryon.solutions.sentiment.rules`,
:mod:`baryon.solutions.sentiment.delivery` and ``docs/alerts.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

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


class RuleRequest(BaseModel):
    """``POST /v1/sentiment/rules``: a rule over one scope's mood index or volume."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32, description="index_crossing, index_change or volume_spike.")
    threshold: StrictFloat = Field(
        allow_inf_nan=False,
        description="Index level t in (0, 1), change d in (0, 2), or spike factor in (1, 1000].",
    )
    window: str = Field(default="1h", max_length=8, description="1h or 1d.")
    ticker: str | None = Field(default=None, max_length=20, description="Default: all items.")
    direction: str = Field(
        default="both", max_length=16, description="both, above, below, up or down."
    )
    min_items: StrictInt = Field(default=10, description="Items the window needs before it fires.")
    baseline_windows: StrictInt | None = Field(
        default=None, description="Volume spike: windows in the baseline (default 6)."
    )
    name: str | None = Field(default=None, max_length=200)
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

    start: datetime | None = None
    end: datetime | None = None


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

    kind: str = Field(max_length=16, description="webhook or email.")
    target: str = Field(max_length=2048, description="The http(s) URL or the e-mail address.")
    name: str | None = Field(default=None, max_length=200)


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
