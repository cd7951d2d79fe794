"""Request and response bodies of the source routes (``/v1/sources``) and of
``POST /v1/sentiment/subscriptions`` (pydantic v2).

Imports nothing but pydantic, so :mod:`baryon.client` types its answers with them
without loading the app. Requests refuse unknown fields. What the fields mean:
:mod:`baryon.connectors.sources` and ``docs/sources.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

    name: str = Field(max_length=200)
    kind: Literal["http_api", "feed", "crawl"]
    url: str = Field(max_length=4096, description="The start URL (http or https).")
    dataset: str | None = Field(default=None, max_length=200, description="Default: name.")
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

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096, description="An RSS or Atom feed.")
    every: str | None = Field(default=None, max_length=20, description="e.g. 5m (at least 60 s).")
    cron: str | None = Field(default=None, max_length=200, description="5 fields, UTC.")
    tickers: list[str] = Field(default_factory=list, max_length=50)
    name: str | None = Field(default=None, max_length=200)


class SubscriptionOut(BaseModel):
    """The feed source and its schedule."""

    source: SourceOut
    schedule: dict[str, Any]
