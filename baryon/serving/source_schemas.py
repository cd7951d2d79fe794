"""Request and response bodies of the source routes (``/v1/sources``) and of
``POST /v1/sentiment/subscriptions`` (pydantic v2).

Imports pydantic and the light field rules only, so :mod:`baryon.client` types its
answers with them without loading the app. Requests refuse unknown fields. What the fields mean:
:mod:`baryon.connectors.sources` and ``docs/sources.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baryon.core.refs import NAME_PATTERN
from baryon.jobs.schedules import EVERY_PATTERN
from baryon.serving.fields import named
from baryon.serving.schedule_schemas import _TIMING
from baryon.serving.solution_schemas import Ticker

#: A source's name (and a subscription's): the one name rule of datasets and models.
SourceName = Annotated[
    str,
    Field(pattern=f"^{NAME_PATTERN}$"),
    named("invalid_source_name", "a source name is 1-100 letters, digits, '.', '_' or '-'"),
]
#: An http(s) URL; what it resolves to is vetted when fetched (``address_refused``).
HttpUrl = Annotated[
    str,
    Field(max_length=4096, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+[^\s]*$"),
    named("invalid_url", "an http or https URL with a host"),
]

__all__ = [
    "SourceAuthIn",
    "SourceOut",
    "SourceRequest",
    "SourceRunOut",
    "SourceRunSubmittedOut",
    "SubscriptionOut",
    "SubscriptionRequest",
]


class SourceAuthIn(BaseModel):
    """How an ``http_api`` source authenticates: a secret (stored encrypted, never shown)
    or the name of an entry of the server's ``BARYON_SOURCE_SECRETS``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["bearer", "basic", "header"]
    header: str | None = Field(default=None, max_length=100, description="For type header.")
    secret: str | None = Field(
        default=None, max_length=4096, description="USER:PASSWORD for basic."
    )
    secret_ref: str | None = Field(default=None, max_length=200)


class SourceRequest(BaseModel):
    """``POST /v1/sources``."""

    model_config = ConfigDict(extra="forbid")

    name: SourceName
    kind: Literal["http_api", "feed", "crawl"]
    url: HttpUrl = Field(description="The start URL (http or https).")
    dataset: (
        Annotated[
            str,
            Field(pattern=f"^{NAME_PATTERN}$"),
            named("invalid_name", "a dataset name is 1-100 letters, digits, '.', '_' or '-'"),
        ]
        | None
    ) = Field(default=None, description="Default: name.")
    config: dict[str, Any] = Field(default_factory=dict, description="The kind's options.")
    auth: SourceAuthIn | None = None


class SourceRunOut(BaseModel):
    """One run of a source and its report."""

    id: str
    trigger: str
    status: str
    started_at: str
    finished_at: str
    fetched: int
    new: int
    duplicate: int
    failed: int
    version_id: str | None
    error_code: str | None
    error: str | None
    report: dict[str, Any]


class SourceOut(BaseModel):
    """A source (its credential is never shown: ``auth`` holds its type only)."""

    id: str
    name: str
    kind: str
    url: str
    dataset: str
    config: dict[str, Any]
    auth: dict[str, Any] | None
    created_by: str
    created_at: str
    updated_at: str
    last_run: SourceRunOut | None = None
    runs: list[SourceRunOut] | None = None


class SourceRunSubmittedOut(BaseModel):
    """``POST /v1/sources/{source}/run``: the queued ``source_run`` job."""

    source: str
    job_id: str
    status: str


class SubscriptionRequest(BaseModel):
    """``POST /v1/sentiment/subscriptions``: fetch a feed into the monitor on a schedule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_TIMING)

    url: HttpUrl = Field(description="An RSS or Atom feed.")
    every: (
        Annotated[
            str,
            Field(max_length=20, pattern=EVERY_PATTERN),
            named("invalid_interval", "an interval is a whole number and s, m, h or d"),
        ]
        | None
    ) = Field(default=None, description="e.g. 5m (at least 60 s).")
    cron: str | None = Field(default=None, max_length=200, description="5 fields, UTC.")
    tickers: list[Ticker] = Field(default_factory=list, max_length=50)
    name: SourceName | None = None


class SubscriptionOut(BaseModel):
    """The feed source and its schedule."""

    source: SourceOut
    schedule: dict[str, Any]
